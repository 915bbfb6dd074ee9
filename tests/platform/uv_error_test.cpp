#include "platform/uv_error.hpp"

#include <ostream>  // doctest prints std::error_code through it
#include <string>

#include <uv.h>

#include <doctest/doctest.h>

TEST_CASE("libuv errors carry libuv's message and compare with errno conditions") {
  std::error_code in_use = peermq::platform::uv_error(UV_EADDRINUSE);
  CHECK(std::string(in_use.category().name()) == "libuv");
  CHECK(in_use.message() == uv_strerror(UV_EADDRINUSE));
  CHECK(in_use == std::errc::address_in_use);
  CHECK(in_use != std::errc::invalid_argument);
}
