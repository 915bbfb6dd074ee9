#include "platform/uv_error.hpp"

#include <string>

#include <uv.h>

namespace peermq::platform {

namespace {

class UvCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "libuv"; }
  std::string message(int status) const override { return uv_strerror(status); }
  // libuv codes are negated errno values on Unix, so ENOENT and friends compare equal to
  // std::errc values and callers can test `error == std::errc::address_in_use`.
  std::error_condition default_error_condition(int status) const noexcept override {
    return std::generic_category().default_error_condition(-status);
  }
};

}  // namespace

const std::error_category& uv_category() noexcept {
  static const UvCategory category;
  return category;
}

}  // namespace peermq::platform
