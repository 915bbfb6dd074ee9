#include "overlay/overlay_message.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <variant>

#include "overlay_test_util.hpp"
#include "wire/limits.hpp"
#include "wire/msgpack_writer.hpp"

using namespace peermq;
using namespace peermq::overlay;
using namespace peermq::overlay::test;
using peermq::wire::MsgpackWriter;
using peermq::wire::WireError;

namespace {

// For messages without views into the input (not forward / forwarded).
template <class T>
T round_trip(const T& m) {
  const Bytes bytes = encode(OverlayMessage{m});
  auto decoded = decode_message(bytes);
  INFO(decoded.error().message());
  REQUIRE(decoded.ok());
  REQUIRE(std::holds_alternative<T>(*decoded));
  CHECK(type_of(*decoded) == type_of(OverlayMessage{m}));
  CHECK(encode(*decoded) == bytes);  // spans in the copy still point into `bytes`
  return std::get<T>(*decoded);
}

std::error_code decode_error(const Bytes& bytes) {
  return decode_message(bytes).error();
}

Bytes endpoint_bytes(std::uint16_t port, std::uint8_t last = 7) {
  Bytes b(18, 0);
  b[10] = b[11] = 0xff;
  b[12] = 10;
  b[15] = last;
  b[16] = static_cast<std::uint8_t>(port >> 8);
  b[17] = static_cast<std::uint8_t>(port);
  return b;
}

}  // namespace

TEST_CASE("every overlay message survives an encode and decode round trip") {
  const Candidates two{ep(203, 0, 113, 5, 40000), ep(192, 168, 1, 20, 5000)};
  const Bytes packet{1, 2, 3, 4, 5};

  CHECK(round_trip(Register{7, two}).candidates == two);
  CHECK(round_trip(Register{8, {}}).candidates.empty());
  const Registered reg = round_trip(Registered{9, two[0], std::chrono::milliseconds(15000)});
  CHECK(reg.seq == 9);
  CHECK(reg.observed == two[0]);
  CHECK(reg.keepalive == std::chrono::milliseconds(15000));
  round_trip(UnknownPeer{});
  const Lookup l = round_trip(Lookup{42, key(3)});
  CHECK((l.request_id == 42 && l.target == key(3)));
  const LookupResult found = round_trip(LookupResult{42, key(3), true, two});
  CHECK(found.found);
  CHECK(found.candidates == two);
  const LookupResult missing = round_trip(LookupResult{43, key(4), false, {}});
  CHECK_FALSE(missing.found);
  CHECK(missing.candidates.empty());
  const PunchRequest pr = round_trip(PunchRequest{key(5), 0xdeadbeefcafef00dull});
  CHECK((pr.target == key(5) && pr.nonce == 0xdeadbeefcafef00dull));
  const PunchNotify pn = round_trip(PunchNotify{key(6), 99, two});
  CHECK((pn.peer == key(6) && pn.nonce == 99 && pn.candidates == two));
  // Forward and forwarded point into the decoded buffer, so it must stay alive here.
  const Bytes fwd_bytes = encode(OverlayMessage{Forward{key(7), packet}});
  auto fwd = decode_message(fwd_bytes);
  REQUIRE(fwd.ok());
  const auto& f = std::get<Forward>(*fwd);
  CHECK(f.to == key(7));
  CHECK(Bytes(f.packet.begin(), f.packet.end()) == packet);
  CHECK(f.packet.data() >= fwd_bytes.data());  // zero-copy: a view into the input
  CHECK(f.packet.data() + f.packet.size() == fwd_bytes.data() + fwd_bytes.size());
  const Bytes fd_bytes = encode(OverlayMessage{Forwarded{key(8), packet}});
  auto fdm = decode_message(fd_bytes);
  REQUIRE(fdm.ok());
  const auto& fd = std::get<Forwarded>(*fdm);
  CHECK(fd.from == key(8));
  CHECK(Bytes(fd.packet.begin(), fd.packet.end()) == packet);
  const Probe p = round_trip(Probe{1, 2});
  CHECK((p.nonce == 1 && p.seq == 2));
  const ProbeAck pa = round_trip(ProbeAck{1, 2, two[1]});
  CHECK((pa.nonce == 1 && pa.seq == 2 && pa.observed == two[1]));
  CHECK(round_trip(Ping{0xfeedull}).id == 0xfeedull);
  CHECK(round_trip(Pong{77}).id == 77);
}

TEST_CASE("an IPv6 endpoint round trips unchanged") {
  const Endpoint v6 =
      Endpoint::v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 443);
  CHECK(round_trip(ProbeAck{0, 0, v6}).observed == v6);
}

TEST_CASE("a WebSocket peer: found with no candidates, and a web endpoint as observed") {
  const LookupResult relay_only = round_trip(LookupResult{1, key(1), true, {}});
  CHECK(relay_only.found);
  CHECK(relay_only.candidates.empty());
  CHECK(round_trip(Registered{1, Endpoint::web(3), std::chrono::milliseconds(25000)}).observed ==
        Endpoint::web(3));
  CHECK(round_trip(ProbeAck{1, 2, Endpoint::web(4)}).observed == Endpoint::web(4));
}

TEST_CASE("message classes tell the transport who may send each type") {
  CHECK(class_of(MessageType::register_node) == MessageClass::to_relay);
  CHECK(class_of(MessageType::forward) == MessageClass::to_relay);
  CHECK(class_of(MessageType::lookup) == MessageClass::to_relay);
  CHECK(class_of(MessageType::punch_request) == MessageClass::to_relay);
  CHECK(class_of(MessageType::registered) == MessageClass::from_relay);
  CHECK(class_of(MessageType::unknown_peer) == MessageClass::from_relay);
  CHECK(class_of(MessageType::lookup_result) == MessageClass::from_relay);
  CHECK(class_of(MessageType::punch_notify) == MessageClass::from_relay);
  CHECK(class_of(MessageType::forwarded) == MessageClass::from_relay);
  CHECK(class_of(MessageType::probe) == MessageClass::between_peers);
  CHECK(class_of(MessageType::probe_ack) == MessageClass::between_peers);
  CHECK(class_of(MessageType::ping) == MessageClass::between_peers);
  CHECK(class_of(MessageType::pong) == MessageClass::between_peers);
  CHECK(std::string(name(MessageType::punch_notify)) == "punch_notify");
}

TEST_CASE("a newer peer's extra trailing fields are skipped") {
  Bytes b;
  MsgpackWriter w(b);
  w.array(4).u64(static_cast<std::uint64_t>(MessageType::probe)).u64(5).u64(6).str("future");
  auto m = decode_message(b);
  REQUIRE(m.ok());
  CHECK(std::get<Probe>(*m).seq == 6);
}

TEST_CASE("the largest forward fits the overlay message limit and one more byte does not") {
  const Bytes biggest(limits::kRelayForwardMaxPacket, 0xab);
  const Bytes bytes = encode(OverlayMessage{Forwarded{key(1), biggest}});
  CHECK(bytes.size() <= limits::kOverlayMessageMax);
  CHECK(decode_message(bytes).ok());
  const Bytes too_big(limits::kRelayForwardMaxPacket + 1, 0xab);
  CHECK_THROWS_AS(encode(OverlayMessage{Forward{key(1), too_big}}), std::invalid_argument);
  Bytes hand;
  MsgpackWriter w(hand);
  w.array(3).u64(static_cast<std::uint64_t>(MessageType::forward)).bin(key(1)).bin(too_big);
  CHECK(decode_error(hand) == WireError::too_long);
}

// Malformed messages, one field wrong at a time; each must give its typed error.
TEST_CASE("malformed overlay messages are refused with a typed error") {
  const auto type = [](MessageType t) { return static_cast<std::uint64_t>(t); };
  struct Case {
    const char* what;
    std::function<void(MsgpackWriter&)> write;
    std::error_code expected;
  };
  const Bytes short_key(31, 1);
  const Bytes good_key(32, 1);
  const std::vector<Case> cases = {
      /* 1 */ {"not an array", [](MsgpackWriter& w) { w.u64(1); }, WireError::wrong_type},
      /* 2 */ {"empty array", [](MsgpackWriter& w) { w.array(0); }, WireError::missing_field},
      /* 3 */
      {"type 0", [](MsgpackWriter& w) { w.array(1).u64(0); }, OverlayError::unknown_message},
      /* 4 */
      {"type 14", [](MsgpackWriter& w) { w.array(1).u64(14); }, OverlayError::unknown_message},
      /* 5 */
      {"type is a string", [](MsgpackWriter& w) { w.array(1).str("probe"); },
       WireError::wrong_type},
      /* 6 */
      {"probe without seq",
       [&](MsgpackWriter& w) { w.array(2).u64(type(MessageType::probe)).u64(1); },
       WireError::missing_field},
      /* 7 */
      {"key of 31 bytes",
       [&](MsgpackWriter& w) { w.array(3).u64(type(MessageType::lookup)).u64(1).bin(short_key); },
       OverlayError::bad_key},
      /* 8 */
      {"key of 33 bytes",
       [&](MsgpackWriter& w) {
         w.array(3).u64(type(MessageType::lookup)).u64(1).bin(Bytes(33, 1));
       },
       WireError::too_long},
      /* 9 */
      {"endpoint of 17 bytes",
       [&](MsgpackWriter& w) {
         w.array(4).u64(type(MessageType::probe_ack)).u64(1).u64(2).bin(Bytes(17, 1));
       },
       OverlayError::bad_endpoint},
      /* 10 */
      {"endpoint with port 0",
       [&](MsgpackWriter& w) {
         w.array(4).u64(type(MessageType::probe_ack)).u64(1).u64(2).bin(endpoint_bytes(0));
       },
       OverlayError::bad_endpoint},
      /* 11 */
      {"endpoint 0.0.0.0",
       [&](MsgpackWriter& w) {
         Bytes e = endpoint_bytes(80);
         e[12] = e[15] = 0;
         w.array(4).u64(type(MessageType::probe_ack)).u64(1).u64(2).bin(e);
       },
       OverlayError::bad_endpoint},
      /* 12 */
      {"punch notify with no candidates",
       [&](MsgpackWriter& w) {
         w.array(4).u64(type(MessageType::punch_notify)).bin(good_key).u64(1).array(0);
       },
       WireError::missing_field},
      /* 13 */
      {"register with too many candidates",
       [&](MsgpackWriter& w) {
         w.array(3)
             .u64(type(MessageType::register_node))
             .u64(1)
             .array(limits::kMaxEndpointCandidates + 1);
         for (std::size_t i = 0; i <= limits::kMaxEndpointCandidates; ++i) {
           w.bin(endpoint_bytes(static_cast<std::uint16_t>(1000 + i)));
         }
       },
       WireError::too_many_entries},
      /* 14 */
      {"lookup result naming a web endpoint as a candidate",
       [&](MsgpackWriter& w) {
         Bytes web(18, 0);  // 100::3, port 0: Endpoint::web(3)
         web[0] = 1;
         web[15] = 3;
         w.array(4).u64(type(MessageType::lookup_result)).u64(1).bin(good_key).array(1).bin(web);
       },
       OverlayError::bad_endpoint},
      /* 15 */
      {"forward of an empty packet",
       [&](MsgpackWriter& w) {
         w.array(3).u64(type(MessageType::forward)).bin(good_key).bin(Bytes{});
       },
       OverlayError::empty_packet},
      /* 16 */
      {"registered with keepalive 0",
       [&](MsgpackWriter& w) {
         w.array(4).u64(type(MessageType::registered)).u64(1).bin(endpoint_bytes(9)).u64(0);
       },
       WireError::out_of_range},
      /* 17 */
      {"negative seq",
       [&](MsgpackWriter& w) { w.array(3).u64(type(MessageType::probe)).i64(-1).u64(1); },
       WireError::out_of_range},
  };
  for (const Case& c : cases) {
    Bytes b;
    MsgpackWriter w(b);
    c.write(w);
    INFO(std::string(c.what));
    CHECK(decode_error(b) == c.expected);
  }
}

TEST_CASE("truncated and trailing bytes are refused") {
  const Bytes good = encode(OverlayMessage{PunchNotify{key(2), 5, {ep(1, 2, 3, 4, 5)}}});
  for (std::size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_FALSE(decode_message(cut).ok());
  }
  Bytes longer = good;
  longer.push_back(0);
  CHECK(decode_error(longer) == WireError::trailing_bytes);
}

TEST_CASE("encoding a message that breaks the limits is a programmer error") {
  Candidates nine(limits::kMaxEndpointCandidates + 1, ep(1, 1, 1, 1, 1));
  CHECK_THROWS_AS(encode(OverlayMessage{Register{1, nine}}), std::invalid_argument);
  CHECK_THROWS_AS(encode(OverlayMessage{PunchNotify{key(1), 1, {}}}), std::invalid_argument);
  CHECK_THROWS_AS(encode(OverlayMessage{Forward{key(1), {}}}), std::invalid_argument);
}

TEST_CASE("valid_endpoint refuses port 0 and unspecified addresses") {
  CHECK(valid_endpoint(ep(127, 0, 0, 1, 1)));
  CHECK_FALSE(valid_endpoint(ep(127, 0, 0, 1, 0)));
  CHECK_FALSE(valid_endpoint(ep(0, 0, 0, 0, 80)));
  CHECK_FALSE(valid_endpoint(Endpoint::v6({}, 80)));
  CHECK(valid_endpoint(Endpoint::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 80)));
}
