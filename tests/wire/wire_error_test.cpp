#include "wire/wire_error.hpp"

#include <doctest/doctest.h>

#include <ostream>
#include <set>
#include <string>

using peermq::wire::WireError;

TEST_CASE("every wire error has its own message in the peermq.wire category") {
  std::set<std::string> messages;
  for (int v = static_cast<int>(WireError::truncated); v <= static_cast<int>(WireError::bad_utf8);
       ++v) {
    const std::error_code ec = static_cast<WireError>(v);
    CAPTURE(v);
    CHECK(std::string(ec.category().name()) == "peermq.wire");
    CHECK(ec.message() != "unknown wire error");
    CHECK(ec.message().find("dropped") != std::string::npos);
    messages.insert(ec.message());
  }
  CHECK(messages.size() == static_cast<std::size_t>(WireError::bad_utf8));
}

TEST_CASE("a wire error converts to a failed Result") {
  peermq::Result<int> r = WireError::truncated;
  CHECK(!r.ok());
  CHECK(r.error() == WireError::truncated);
}
