#include "session/packet.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace peermq;
using namespace peermq::session;

namespace {

std::vector<std::uint8_t> filled(std::size_t n, std::uint8_t v) {
  return std::vector<std::uint8_t>(n, v);
}

}  // namespace

TEST_CASE("handshake packets have WireGuard's shape with peermq's sizes") {
  CHECK(kInitiationSize == 180);
  CHECK(kResponseSize == 92);
  CHECK(kCookieReplySize == 64);
  CHECK(kTransportOverhead == 32);
  CHECK(kTransportOverhead + kMaxPlaintext == limits::kUdpPayloadMax);
}

TEST_CASE("an initiation encodes and decodes to the same fields") {
  const auto noise = filled(kInitiationNoiseSize, 0xab);
  const auto packet = encode_initiation(0x04030201, noise);
  REQUIRE(packet.size() == kInitiationSize);
  CHECK(packet[0] == 1);
  CHECK(packet[4] == 0x01);  // little-endian index
  CHECK(packet[7] == 0x04);
  auto m = decode_initiation(packet);
  REQUIRE(m);
  CHECK(m->sender_index == 0x04030201);
  CHECK(std::vector<std::uint8_t>(m->noise.begin(), m->noise.end()) == noise);
}

TEST_CASE("a response, a cookie reply and a transport header round-trip") {
  const auto noise = filled(kResponseNoiseSize, 7);
  const auto response_packet = encode_response(11, 22, noise);
  auto r = decode_response(response_packet);
  REQUIRE(r);
  CHECK(r->sender_index == 11);
  CHECK(r->receiver_index == 22);
  CHECK(r->noise.size() == kResponseNoiseSize);

  const auto nonce = filled(kCookieNonceSize, 1);
  const auto sealed = filled(kEncryptedCookieSize, 2);
  const auto cookie_packet = encode_cookie_reply(33, nonce, sealed);
  auto c = decode_cookie_reply(cookie_packet);
  REQUIRE(c);
  CHECK(c->receiver_index == 33);
  CHECK(c->nonce[0] == 1);
  CHECK(c->encrypted_cookie.size() == kEncryptedCookieSize);

  std::vector<std::uint8_t> data;
  encode_transport_header(44, 0x0102030405060708ULL, data);
  data.resize(kTransportOverhead + 5);
  auto t = decode_transport(data);
  REQUIRE(t);
  CHECK(t->receiver_index == 44);
  CHECK(t->counter == 0x0102030405060708ULL);
  CHECK(t->header.size() == kTransportHeaderSize);
  CHECK(t->ciphertext.size() == 5 + limits::kAeadTagSize);
}

TEST_CASE("malformed packets are refused with the reason") {
  CHECK(packet_type(filled(3, 0)).error() == SessionError::too_short);
  CHECK(packet_type(std::vector<std::uint8_t>{0, 0, 0, 0}).error() == SessionError::unknown_type);
  CHECK(packet_type(std::vector<std::uint8_t>{5, 0, 0, 0}).error() == SessionError::unknown_type);
  CHECK(packet_type(std::vector<std::uint8_t>{4, 0, 1, 0}).error() ==
        SessionError::reserved_not_zero);

  auto initiation = encode_initiation(1, filled(kInitiationNoiseSize, 0));
  initiation.push_back(0);
  CHECK(decode_initiation(initiation).error() == SessionError::wrong_length);
  initiation.resize(kInitiationSize - 1);
  CHECK(decode_initiation(initiation).error() == SessionError::wrong_length);
  const auto not_a_response = encode_initiation(1, filled(kInitiationNoiseSize, 0));
  CHECK(decode_response(not_a_response).error() == SessionError::unknown_type);

  std::vector<std::uint8_t> data;
  encode_transport_header(1, 1, data);
  data.resize(kTransportOverhead - 1);
  CHECK(decode_transport(data).error() == SessionError::too_short);
  data.resize(kTransportOverhead + kMaxPlaintext + 1);
  CHECK(decode_transport(data).error() == SessionError::too_long);
}
