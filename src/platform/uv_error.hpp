// libuv status codes as std::error_code, so runtime calls return peermq::Result like
// every other layer while keeping libuv's own messages ("address already in use").
#pragma once

#include <system_error>

namespace peermq::platform {

// Category "libuv": values are libuv status codes (negative), messages from uv_strerror.
const std::error_category& uv_category() noexcept;

// `status` is a failed libuv return value (< 0).
inline std::error_code uv_error(int status) noexcept {
  return {status, uv_category()};
}

}  // namespace peermq::platform
