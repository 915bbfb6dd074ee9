// Result<T>: a value or a std::error_code, returned by every fallible call in peermq.
//
// Each layer has its own error enum (crypto, wire, cli, ...) registered with
// PEERMQ_ERROR_ENUM, so a Result can be built straight from an enum value and the
// error's message() says what went wrong. Exceptions are kept for start-up and for
// programmer errors; protocol paths return Results.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace peermq {

// A std::error_category for any enum that has, findable by ADL,
//   const char* describe(E)        -- one human sentence per value
//   const char* category_name(E)   -- the layer's name, e.g. "peermq.crypto"
template <class E>
class EnumCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return category_name(E{}); }
  std::string message(int value) const override { return describe(static_cast<E>(value)); }
  static const EnumCategory& instance() noexcept {
    static const EnumCategory category;
    return category;
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(std::error_code error) : v_(std::in_place_index<1>, error) {  // NOLINT
    assert(error && "a Result error must be an error");
  }
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  Result(E error) : Result(std::error_code(make_error_code(error))) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Calling value() on an error is a programmer error (std::bad_variant_access).
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  std::error_code error() const noexcept {
    const std::error_code* e = std::get_if<1>(&v_);
    return e != nullptr ? *e : std::error_code{};
  }

 private:
  std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(std::error_code error) : error_(error) { assert(error); }  // NOLINT
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  Result(E error) : Result(std::error_code(make_error_code(error))) {}  // NOLINT

  bool ok() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return ok(); }
  std::error_code error() const noexcept { return error_; }

 private:
  std::error_code error_;
};

}  // namespace peermq

// Registers a peermq error enum: use inside namespace peermq right after the enum,
// then PEERMQ_ERROR_ENUM_STD(peermq::E) at global scope.
#define PEERMQ_ERROR_ENUM(E)                                                      \
  inline std::error_code make_error_code(E e) noexcept {                          \
    return {static_cast<int>(e), ::peermq::EnumCategory<E>::instance()};          \
  }
#define PEERMQ_ERROR_ENUM_STD(E) \
  template <>                    \
  struct std::is_error_code_enum<E> : std::true_type {};
