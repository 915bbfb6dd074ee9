// Secret<N>: N bytes of key material that cannot be copied and are wiped on destruction.
//
// Every secret key in peermq (identity seed, X25519 private keys, Noise chaining keys,
// session keys) lives in one of these. Moving transfers the bytes and wipes the source,
// so exactly one live object holds a given secret at any time.
//
// Wiping goes through secure_zero(), which the compiler may not elide (libsodium's
// sodium_memzero inside the library), so this header needs no libsodium of its own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace peermq {

// Overwrites `size` bytes at `data` with zeros in a way the optimiser keeps. Any thread.
void secure_zero(void* data, std::size_t size) noexcept;

template <std::size_t N>
class Secret {
 public:
  static constexpr std::size_t size() noexcept { return N; }

  Secret() noexcept { bytes_.fill(0); }
  explicit Secret(std::span<const std::uint8_t, N> bytes) noexcept {
    for (std::size_t i = 0; i < N; ++i) bytes_[i] = bytes[i];
  }
  ~Secret() { wipe(); }

  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      other.wipe();
    }
    return *this;
  }

  void wipe() noexcept { secure_zero(bytes_.data(), N); }

  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  std::span<std::uint8_t, N> span() noexcept { return bytes_; }
  std::span<const std::uint8_t, N> span() const noexcept { return bytes_; }

 private:
  std::array<std::uint8_t, N> bytes_;
};

}  // namespace peermq
