#include "platform/web_message_assembler.hpp"

#include <vector>

#include <doctest/doctest.h>

using peermq::platform::WebMessageAssembler;
using Outcome = WebMessageAssembler::Outcome;

namespace {

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t fill = 7) {
  return std::vector<std::uint8_t>(n, fill);
}

}  // namespace

TEST_CASE("web message: one binary message is one datagram") {
  WebMessageAssembler a(100);
  const auto d = bytes(100);
  CHECK(a.feed({d, true, true, true}) == Outcome::datagram);
  CHECK(a.datagram().size() == 100);
}

TEST_CASE("web message: pieces of one message are joined") {
  WebMessageAssembler a(100);
  const auto head = bytes(60, 1);
  const auto tail = bytes(40, 2);
  CHECK(a.feed({head, true, false, true}) == Outcome::partial);
  CHECK(a.feed({tail, false, true, true}) == Outcome::datagram);
  REQUIRE(a.datagram().size() == 100);
  CHECK(a.datagram()[59] == 1);
  CHECK(a.datagram()[60] == 2);
}

TEST_CASE("web message: edge cases, each dropped whole and reported once at its end") {
  const auto one = bytes(1);
  const auto max = bytes(100);
  const auto over = bytes(101);
  const auto half = bytes(51);
  const std::vector<std::uint8_t> none;
  struct Case {
    const char* what;
    std::vector<WebMessageAssembler::Piece> pieces;
    Outcome last;
  };
  const std::vector<Case> cases{
      /* 1 */ {"exactly the limit", {{max, true, true, true}}, Outcome::datagram},
      /* 2 */ {"one byte over", {{over, true, true, true}}, Outcome::dropped_oversized},
      /* 3 */ {"over in fragments", {{half, true, false, true}, {half, false, true, true}},
               Outcome::dropped_oversized},
      /* 4 */ {"text", {{one, true, true, false}}, Outcome::dropped_malformed},
      /* 5 */ {"text in fragments", {{one, true, false, false}, {one, false, true, false}},
               Outcome::dropped_malformed},
      /* 6 */ {"empty binary", {{none, true, true, true}}, Outcome::dropped_malformed},
      /* 7 */ {"a huge text", {{over, true, true, false}}, Outcome::dropped_malformed},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    WebMessageAssembler a(100);
    for (std::size_t i = 0; i + 1 < c.pieces.size(); ++i) CHECK(a.feed(c.pieces[i]) == Outcome::partial);
    CHECK(a.feed(c.pieces.back()) == c.last);
    // The next message is whole again.
    CHECK(a.feed({one, true, true, true}) == Outcome::datagram);
    CHECK(a.datagram().size() == 1);
  }
}

TEST_CASE("web message: an oversized message is never buffered beyond the limit") {
  WebMessageAssembler a(100);
  const auto piece = bytes(60);
  CHECK(a.feed({piece, true, false, true}) == Outcome::partial);
  for (int i = 0; i < 1000; ++i) CHECK(a.feed({piece, false, false, true}) == Outcome::partial);
  CHECK(a.datagram().size() <= 100);
  CHECK(a.feed({piece, false, true, true}) == Outcome::dropped_oversized);
}
