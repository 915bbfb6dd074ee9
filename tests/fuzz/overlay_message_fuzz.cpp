// Fuzz target: arbitrary bytes as an overlay control message, to the decoder and to every
// core that takes one (relay server, relay client, peer path).
//
// The decoder must never read past its input and must agree with the encoder: whatever
// decodes re-encodes (never throwing: decoded messages respect the encoder's limits) to
// bytes that decode to the same encoding again. The cores, fed the message from every
// role, must neither crash nor break their bounds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <variant>
#include <vector>

#include "overlay/overlay_message.hpp"
#include "overlay/peer_path.hpp"
#include "overlay/relay_client.hpp"
#include "overlay/relay_server.hpp"
#include "support/manual_clock.hpp"
#include "wire/wire_error.hpp"

using namespace peermq;
using namespace peermq::overlay;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

PublicKey key(std::uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

bool typed(std::error_code e) {
  return e.category() == EnumCategory<OverlayError>::instance() ||
         e.category() == EnumCategory<wire::WireError>::instance();
}

void feed_cores(const OverlayMessage& m) {
  const Instant now = ManualClock::kDefaultStart;
  const Endpoint source = Endpoint::v4({198, 51, 100, 1}, 4000);

  // The relay, from a registered node and from a stranger.
  RelayServer server;
  server.on_message(key(1), source, Register{1, {}}, now);
  server.on_message(key(2), source, Register{1, {}}, now);
  server.on_message(key(1), source, m, now);
  server.on_message(key(9), source, m, now);
  while (server.poll_transmit()) {
  }
  require(server.registered_count() <= 3, "relay table grows by one register at most");

  // The node, from its relay and from a stranger.
  RelayClientConfig config;
  config.relays = {{key(3), Endpoint::v4({192, 0, 2, 1}, 7000)}};
  RelayClient client(config, now);
  (void)client.lookup(key(2), now);
  client.on_message(key(3), m, now);
  client.on_message(key(9), m, now);
  client.on_timeout(now + std::chrono::seconds(30));
  while (client.poll_transmit()) {
  }
  while (auto e = client.poll_event()) {
    // Events carry what was decoded: bounded like it.
    require(e->candidates.size() <= limits::kMaxEndpointCandidates, "event candidates");
  }

  // A peer path, with the message as its peer's probe or ack, or as its relay's notify.
  PeerPath path(key(2));
  path.on_lookup_result(key(3), {source}, now);
  if (const auto* p = std::get_if<Probe>(&m)) path.on_probe(source, *p, now);
  if (const auto* a = std::get_if<ProbeAck>(&m)) path.on_probe_ack(source, *a, now);
  if (const auto* n = std::get_if<PunchNotify>(&m)) path.on_punch_notify(key(3), *n, now);
  path.on_timeout(now + std::chrono::seconds(1));
  require(path.candidates().size() <= limits::kMaxPathCandidates, "path candidates");
  while (path.poll_output()) {
  }
  while (path.poll_event()) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> input(data, data + size);
  auto m = decode_message(input);
  if (!m) {
    require(typed(m.error()), "decode fails only with typed errors");
    return 0;
  }
  const std::vector<std::uint8_t> once = encode(*m);
  require(once.size() <= limits::kOverlayMessageMax, "re-encoding stays within the limit");
  auto again = decode_message(once);
  require(again.ok(), "re-encoded message decodes");
  require(type_of(*again) == type_of(*m), "type survives");
  require(encode(*again) == once, "re-encoding is a fixpoint");
  feed_cores(*m);
  return 0;
}
