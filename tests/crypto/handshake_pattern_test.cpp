#include <doctest/doctest.h>

#include <vector>

#include "crypto/handshake_pattern.hpp"
#include "crypto/noise_test_util.hpp"

using namespace peermq::crypto;
using T = NoiseToken;

namespace {

std::vector<NoiseToken> tokens(const HandshakePattern& p, std::size_t i) {
  auto m = p.message(i);
  return {m.begin(), m.end()};
}

}  // namespace

TEST_CASE("IK and XX have the token programs of the Noise spec") {
  auto ik = HandshakePattern::find("IK");
  REQUIRE(ik.ok());
  CHECK_FALSE(ik->initiator_static_premessage());
  CHECK(ik->responder_static_premessage());
  REQUIRE(ik->message_count() == 2);
  CHECK(tokens(*ik, 0) == std::vector<T>{T::e, T::es, T::s, T::ss});
  CHECK(tokens(*ik, 1) == std::vector<T>{T::e, T::ee, T::se});

  auto xx = HandshakePattern::find("XX");
  REQUIRE(xx.ok());
  CHECK_FALSE(xx->responder_static_premessage());
  REQUIRE(xx->message_count() == 3);
  CHECK(tokens(*xx, 0) == std::vector<T>{T::e});
  CHECK(tokens(*xx, 1) == std::vector<T>{T::e, T::ee, T::s, T::es});
  CHECK(tokens(*xx, 2) == std::vector<T>{T::s, T::se});
}

TEST_CASE("all fundamental patterns are known, one-way ones have one message") {
  for (const char* name : {"N", "K", "X"}) {
    auto p = HandshakePattern::find(name);
    REQUIRE(p.ok());
    CHECK(p->one_way());
    CHECK(p->name() == name);
  }
  for (const char* name :
       {"NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK", "XX", "IN", "IK", "IX"}) {
    auto p = HandshakePattern::find(name);
    REQUIRE(p.ok());
    CHECK_FALSE(p->one_way());
    CHECK(tokens(*p, 0).front() == T::e);  // every pattern opens with the initiator's e
  }
}

TEST_CASE("unknown and PSK patterns are refused") {
  for (const char* name : {"", "ZZ", "IKpsk2", "ik", "Noise_IK"}) {
    auto p = HandshakePattern::find(name);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error() == NoiseError::unknown_pattern);
  }
}

TEST_CASE("the keys each side must bring follow from the pattern") {
  struct Row {
    const char* name;
    bool initiator_static, responder_static, initiator_remote, responder_remote;
  };
  const Row table[] = {
      /* 1 */ {"NN", false, false, false, false},
      /* 2 */ {"NK", false, true, true, false},
      /* 3 */ {"NX", false, true, false, false},
      /* 4 */ {"XN", true, false, false, false},
      /* 5 */ {"IK", true, true, true, false},
      /* 6 */ {"XX", true, true, false, false},
      /* 7 */ {"KN", true, false, false, true},
      /* 8 */ {"KK", true, true, true, true},
      /* 9 */ {"N", false, true, true, false},
      /* 10 */ {"X", true, true, true, false},
  };
  for (const Row& row : table) {
    CAPTURE(row.name);
    auto p = HandshakePattern::find(row.name);
    REQUIRE(p.ok());
    CHECK(p->needs_local_static(true) == row.initiator_static);
    CHECK(p->needs_local_static(false) == row.responder_static);
    CHECK(p->needs_remote_static(true) == row.initiator_remote);
    CHECK(p->needs_remote_static(false) == row.responder_remote);
  }
}
