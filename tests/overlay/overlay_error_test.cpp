#include "overlay/overlay_error.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "wire/wire_error.hpp"

using namespace peermq;
using namespace peermq::overlay;

TEST_CASE("every overlay error has its own message in the peermq.overlay category") {
  std::set<std::string> messages;
  for (std::size_t i = 1; i < kOverlayErrorCount; ++i) {
    const std::error_code e = static_cast<OverlayError>(i);
    CHECK(std::string(e.category().name()) == "peermq.overlay");
    CHECK(e.message() != "unknown overlay error");
    messages.insert(e.message());
  }
  CHECK(messages.size() == kOverlayErrorCount - 1);
}

TEST_CASE("drops count overlay errors as themselves and any other error as malformed") {
  CHECK(drop_reason(OverlayError::bad_key) == OverlayError::bad_key);
  CHECK(drop_reason(wire::WireError::truncated) == OverlayError::malformed);
}
