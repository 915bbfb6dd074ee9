#include "session/session_error.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace peermq;
using namespace peermq::session;

TEST_CASE("every session error has its own message in the peermq.session category") {
  std::set<std::string> messages;
  for (std::size_t i = 1; i < kSessionErrorCount; ++i) {
    const std::error_code e = static_cast<SessionError>(i);
    CHECK(std::string(e.category().name()) == "peermq.session");
    CHECK(e.message() != "unknown session error");
    messages.insert(e.message());
  }
  CHECK(messages.size() == kSessionErrorCount - 1);
}
