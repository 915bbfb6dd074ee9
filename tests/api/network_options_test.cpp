// The listen and relay texts the options take, checked before anything starts.
#include <peermq/network_options.hpp>

#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/identity.hpp>
#include <peermq/queue_error.hpp>

using namespace peermq;

TEST_CASE("listen endpoints are IP:PORT, and anything else is refused with a reason") {
  struct Case {
    const char* text;
    bool ok;
  };
  const Case cases[] = {
      /* 1 */ {"0.0.0.0:0", true},
      /* 2 */ {"127.0.0.1:7070", true},
      /* 3 */ {"[::1]:7070", true},
      /* 4 */ {"localhost:7070", false},  // a name: listening needs an address
      /* 5 */ {"127.0.0.1", false},
      /* 6 */ {"127.0.0.1:70000", false},
      /* 7 */ {"", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    std::string why;
    auto checked = check_listen(c.text, &why);
    CHECK(checked.ok() == c.ok);
    if (!c.ok) {
      CHECK(checked.error() == QueueError::invalid_options);
      CHECK(why.find("expected IP:PORT") != std::string::npos);
    }
  }
}

TEST_CASE("a relay list splits into the items the options take, each one checked") {
  const std::string relay = Identity::generate().address().to_string();
  auto none = parse_relays("");
  REQUIRE(none);
  CHECK(none->empty());
  auto two = parse_relays("127.0.0.1:7070," + relay + "@[::1]:7071");
  REQUIRE(two);
  CHECK(*two == std::vector<std::string>{"127.0.0.1:7070", relay + "@[::1]:7071"});

  struct Case {
    std::string text;
    const char* named;  // in the reason
  };
  const Case bad[] = {
      /* 1 */ {"127.0.0.1:7070,,127.0.0.1:7071", "empty"},
      /* 2 */ {"127.0.0.1", "HOST:PORT"},
      /* 3 */ {"127.0.0.1:0", "port"},
      /* 4 */ {"nope@127.0.0.1:7070", "relay address"},
      /* 5 */ {"[::1:7070", "[IPv6]:PORT"},
  };
  for (const Case& c : bad) {
    CAPTURE(c.text);
    std::string why;
    auto parsed = parse_relays(c.text, &why);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error() == QueueError::invalid_options);
    CHECK_MESSAGE(why.find(c.named) != std::string::npos, why);
  }
}
