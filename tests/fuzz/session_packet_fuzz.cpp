// Fuzz target: arbitrary bytes as a session datagram, to the packet decoders and to a
// SessionEndpoint.
//
// The decoders must never read past their input and must agree with packet_type(): a
// datagram whose type decodes has a decoder that accepts it exactly when its length is
// right. The endpoint, fed the same bytes (whole and in pieces) with its timers run,
// must neither crash nor answer a datagram whose mac1 is bad with more bytes than it got.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>

#include "session/packet.hpp"
#include "session/session_endpoint.hpp"
#include "support/manual_clock.hpp"

using namespace peermq;
using namespace peermq::session;

namespace {

const Identity& identity() {
  static const Identity id = [] {
    Secret<kSeedSize> seed;
    for (std::size_t i = 0; i < seed.size(); ++i) seed.data()[i] = static_cast<std::uint8_t>(i);
    return Identity::from_seed(seed);
  }();
  return id;
}

void check_decoders(std::span<const std::uint8_t> in) {
  auto type = packet_type(in);
  if (!type) return;
  bool ok = false;
  std::size_t expected = 0;
  switch (*type) {
    case PacketType::initiation:
      ok = decode_initiation(in).ok();
      expected = kInitiationSize;
      break;
    case PacketType::response:
      ok = decode_response(in).ok();
      expected = kResponseSize;
      break;
    case PacketType::cookie_reply:
      ok = decode_cookie_reply(in).ok();
      expected = kCookieReplySize;
      break;
    case PacketType::transport:
      ok = decode_transport(in).ok();
      if (ok != (in.size() >= kTransportOverhead && in.size() <= kTransportOverhead + kMaxPlaintext)) {
        std::abort();
      }
      return;
  }
  if (ok != (in.size() == expected)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  check_decoders(in);

  Instant now = ManualClock::kDefaultStart;
  SessionEndpoint endpoint(identity(), SessionConfig{}, now, ManualClock::kDefaultWall);
  const auto source = Endpoint::v4({192, 0, 2, 7}, 9999);
  // Every other run in cookie mode, so both paths see the input.
  endpoint.set_under_load(size % 2 == 1);
  const std::size_t part = size / 3 + 1;
  for (std::size_t at = 0; at < size; at += part) {
    (void)endpoint.on_datagram(in.subspan(at, std::min(part, size - at)), source, now);
    now += std::chrono::milliseconds(300);
  }
  (void)endpoint.on_datagram(in, source, now);
  if (endpoint.next_deadline() <= now + std::chrono::hours(1)) {
    (void)endpoint.on_timeout(now + std::chrono::hours(1));
  }
  while (auto d = endpoint.poll_transmit()) {
    // The only answers to strangers are responses and cookie replies, both smaller.
    if (d->bytes.size() > size) std::abort();
  }
  return 0;
}
