#include "platform/node.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/run_until.hpp"

using namespace std::chrono_literals;
using peermq::Counters;
using peermq::Identity;
using peermq::PublicKey;
using peermq::Endpoint;
using peermq::platform::LocalDirectoryError;
using peermq::platform::Loop;
using peermq::platform::Node;
using peermq::platform::NodeOptions;
using peermq::platform::Timer;
using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

namespace {

using peermq::test::run_until;

struct Scratch {
  fs::path root = fs::temp_directory_path() /
                  ("peermq-node-test-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
};

NodeOptions options(const fs::path& dir) {
  NodeOptions o;
  o.listen = Endpoint::v4({127, 0, 0, 1}, 0);
  o.discovery_dir = dir;
  o.host.session.keepalive_interval = 200ms;
  o.host.session.rekey_timeout = 200ms;
  o.host.session.retry_initial = 100ms;
  return o;
}

}  // namespace

TEST_CASE(
    "a node dials another on this host by its key alone, and finds it again after a restart") {
  Scratch s;
  Loop loop;
  Counters counters;
  const Identity server_id = Identity::generate();
  const Identity client_id = Identity::generate();
  NodeOptions client_options = options(s.root);
  client_options.host.router.announce = false;
  Node client(loop, counters, client_id, client_options);
  std::string detail;
  REQUIRE_MESSAGE(client.start(&detail), detail);
  std::vector<Bytes> at_client;
  client.host().on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
    at_client.emplace_back(m.begin(), m.end());
  });
  CHECK(client.host().dial(server_id.public_key()).error() == LocalDirectoryError::not_found);

  for (int run = 0; run < 2; ++run) {
    CAPTURE(run);
    Counters server_counters;
    Node server(loop, server_counters, server_id, options(s.root));
    REQUIRE_MESSAGE(server.start(&detail), detail);
    server.host().on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      (void)server.host().send(from, m);  // echo
    });
    const std::size_t before = at_client.size();
    // The first run is found by dial(); the second by the node's own periodic lookup.
    if (run == 0) REQUIRE(client.host().dial(server_id.public_key()));
    const Bytes ping{static_cast<std::uint8_t>(run)};
    bool sent = false;
    // What was queued for the previous run is dropped when the restart is seen: resend.
    client.host().on_peer_reset([&](const PublicKey&) { sent = false; });
    REQUIRE(run_until(
        loop,
        [&] {
          if (!sent &&
              client.host().endpoint_of(server_id.public_key()) == server.local_endpoint()) {
            sent = client.host().send(server_id.public_key(), ping).ok();
          }
          return at_client.size() > before;
        },
        10s));
    CHECK(at_client.back() == ping);
    server.stop();
    CHECK_FALSE(fs::exists(s.root / peermq::overlay::local_announcement_file_name(
                                        peermq::Address(server_id.public_key()))));
  }
  client.stop();
}

// ---- relays ----------------------------------------------------------------------------------

namespace {

using peermq::overlay::Route;
using peermq::overlay::RelaySpec;

// A node that sees only its own discovery directory, and uses `relay` (by HOST:PORT only,
// or with its key).
NodeOptions relayed_options(const fs::path& dir, const Endpoint& relay,
                            std::optional<PublicKey> key = std::nullopt, bool punch = true) {
  fs::create_directories(dir.parent_path());
  NodeOptions o = options(dir);
  o.host.router.relays.push_back(RelaySpec{key, relay, relay.to_string()});
  o.host.router.punch = punch;
  return o;
}

NodeOptions relay_options(const fs::path& dir) {
  fs::create_directories(dir.parent_path());
  NodeOptions o = options(dir);
  o.host.relay = true;
  o.host.server.keepalive = std::chrono::seconds(5);  // the shortest a node accepts
  return o;
}

// The relay node's server (it must be a relay).
const peermq::overlay::RelayServer& server_of(Node& relay) {
  const peermq::overlay::RelayServer* server = relay.host().relay_server();
  if (server == nullptr) throw std::logic_error("not a relay node");
  return *server;
}

// Echoes every message back to its sender.
void echo(Node& n) {
  n.host().on_message([&n](const PublicKey& from, std::span<const std::uint8_t> m) {
    (void)n.host().send(from, m);
  });
}

}  // namespace

TEST_CASE(
    "two nodes that cannot see each other's announcements talk through a relay on "
    "127.0.0.1") {
  Scratch s;
  Loop loop;
  Counters cr, ca, cb;
  const Identity relay_id = Identity::generate();
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  {
    Node relay(loop, cr, relay_id, relay_options(s.root / "r"));
    std::string detail;
    REQUIRE_MESSAGE(relay.start(&detail), detail);
    // Punching off: traffic must stay on the relay (on loopback a direct path always works).
    Node a(loop, ca, ia, relayed_options(s.root / "a", relay.local_endpoint(), {}, false));
    Node b(loop, cb, ib, relayed_options(s.root / "b", relay.local_endpoint(), {}, false));
    REQUIRE_MESSAGE(a.start(&detail), detail);
    REQUIRE_MESSAGE(b.start(&detail), detail);
    echo(a);
    std::vector<Bytes> at_b;
    b.host().on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      if (from == ia.public_key()) at_b.emplace_back(m.begin(), m.end());
    });
    // a registers before b dials it (or b's lookup would miss and retry later).
    REQUIRE(run_until(
        loop, [&] { return a.host().router().relays_registered() == 1; }, 5s));
    REQUIRE(b.host().dial(ia.public_key()));
    // Sent before any route exists: they wait in the channel.
    for (std::uint8_t i = 0; i < 100; ++i) REQUIRE(b.host().send(ia.public_key(), Bytes{i}));
    REQUIRE(run_until(
        loop, [&] { return at_b.size() == 100; }, 10s));
    for (std::uint8_t i = 0; i < 100; ++i) CHECK(at_b[i] == Bytes{i});
    CHECK(b.host().route_of(ia.public_key()) == Route::relayed_via(relay_id.public_key()));
    CHECK(a.host().route_of(ib.public_key()) == Route::relayed_via(relay_id.public_key()));
    CHECK(server_of(relay).stats().forwarded_packets > 0);
    CHECK(server_of(relay).registered_count() == 2);
    CHECK(cr.counter_value("relay_forwarded_packets_total") ==
          server_of(relay).stats().forwarded_packets);
    // b learned the relay's key on first contact, and uses it.
    CHECK(b.host().router().relays_known() == 1);
  }
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("through a relay, the path becomes direct with no message lost or repeated") {
  Scratch s;
  Loop loop;
  Counters cr, ca, cb;
  const Identity relay_id = Identity::generate();
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  Node relay(loop, cr, relay_id, relay_options(s.root / "r"));
  std::string detail;
  REQUIRE_MESSAGE(relay.start(&detail), detail);
  Node a(loop, ca, ia,
         relayed_options(s.root / "a", relay.local_endpoint(), relay_id.public_key()));
  Node b(loop, cb, ib,
         relayed_options(s.root / "b", relay.local_endpoint(), relay_id.public_key()));
  REQUIRE_MESSAGE(a.start(&detail), detail);
  REQUIRE_MESSAGE(b.start(&detail), detail);
  echo(a);
  std::vector<std::pair<Route::Kind, Route::Kind>> changes;
  b.host().on_path_change([&](const PublicKey&, const peermq::overlay::PathEvent& e) {
    changes.emplace_back(e.from.kind, e.to.kind);
  });
  std::uint32_t next_back = 0;
  bool bad = false;
  b.host().on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4 && i < m.size(); ++i) v |= std::uint32_t{m[i]} << (8 * i);
    if (m.size() != 4 || v != next_back) bad = true;
    ++next_back;
  });
  REQUIRE(run_until(
      loop, [&] { return a.host().router().relays_registered() == 1 && b.host().router().relays_registered() == 1; }, 5s));
  REQUIRE(b.host().dial(ia.public_key()));
  // A steady stream across the route change.
  constexpr std::uint32_t kTotal = 3000;
  std::uint32_t sent = 0;
  Timer feed(loop);
  feed.start(1ms, 1ms, [&] {
    for (int k = 0; k < 10 && sent < kTotal; ++k) {
      const Bytes m{static_cast<std::uint8_t>(sent), static_cast<std::uint8_t>(sent >> 8),
                    static_cast<std::uint8_t>(sent >> 16), static_cast<std::uint8_t>(sent >> 24)};
      if (!b.host().send(ia.public_key(), m)) break;
      ++sent;
    }
  });
  REQUIRE(run_until(
      loop, [&] { return next_back == kTotal; }, 20s));
  CHECK_FALSE(bad);
  CHECK(b.host().route_of(ia.public_key()).kind == Route::Kind::direct);
  CHECK(b.host().route_of(ia.public_key()).endpoint ==
        a.local_endpoint());
  REQUIRE(changes.size() >= 2);
  CHECK(changes[0] == std::make_pair(Route::Kind::none, Route::Kind::relayed));
  CHECK(changes[1] == std::make_pair(Route::Kind::relayed, Route::Kind::direct));
  CHECK(server_of(relay).stats().punches >= 1);
}

TEST_CASE("every node answers a ping, through a relay or directly") {
  Scratch s;
  Loop loop;
  Counters cr, ca, cb;
  const Identity relay_id = Identity::generate();
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  Node relay(loop, cr, relay_id, relay_options(s.root / "r"));
  std::string detail;
  REQUIRE_MESSAGE(relay.start(&detail), detail);
  Node a(loop, ca, ia,
         relayed_options(s.root / "a", relay.local_endpoint(), relay_id.public_key()));
  Node b(loop, cb, ib,
         relayed_options(s.root / "b", relay.local_endpoint(), relay_id.public_key()));
  REQUIRE_MESSAGE(a.start(&detail), detail);
  REQUIRE_MESSAGE(b.start(&detail), detail);
  std::vector<std::uint64_t> pongs;
  b.host().on_pong([&](const PublicKey& from, std::uint64_t id) {
    if (from == ia.public_key()) pongs.push_back(id);
  });
  REQUIRE(run_until(
      loop, [&] { return a.host().router().relays_registered() == 1; }, 5s));
  REQUIRE(b.host().dial(ia.public_key()));
  REQUIRE(run_until(
      loop, [&] { return b.host().route_of(ia.public_key()).kind != Route::Kind::none; }, 5s));
  REQUIRE(b.host().ping(ia.public_key(), 1));
  REQUIRE(run_until(
      loop, [&] { return b.host().route_of(ia.public_key()).kind == Route::Kind::direct && !pongs.empty(); },
      5s));
  REQUIRE(b.host().ping(ia.public_key(), 2));
  REQUIRE(run_until(
      loop, [&] { return pongs.size() == 2; }, 5s));
  CHECK(pongs == std::vector<std::uint64_t>{1, 2});
  CHECK(b.host().describe(b.host().route_of(ia.public_key())) == "direct " + a.local_endpoint().to_string());
}

TEST_CASE(
    "nodes register again after their relay restarts, and new dials succeed "
    "(acceptance, about 6 s)") {
  Scratch s;
  Loop loop;
  Counters cr, cr2, ca, cb;
  const Identity relay_id = Identity::generate();
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  std::optional<Node> relay;
  relay.emplace(loop, cr, relay_id, relay_options(s.root / "r"));
  std::string detail;
  REQUIRE_MESSAGE(relay->start(&detail), detail);
  const Endpoint at = relay->local_endpoint();
  Node a(loop, ca, ia, relayed_options(s.root / "a", at, {}, false));
  REQUIRE_MESSAGE(a.start(&detail), detail);
  echo(a);
  REQUIRE(run_until(
      loop, [&] { return a.host().router().relays_registered() == 1; }, 5s));
  relay.reset();  // killed: its table and sessions are gone
  relay.emplace(loop, cr2, relay_id, [&] {
    NodeOptions o = relay_options(s.root / "r");
    o.listen = at;
    return o;
  }());
  REQUIRE_MESSAGE(relay->start(&detail), detail);
  // a does not know yet; its next keepalive finds the relay deaf to its old session.
  REQUIRE(run_until(
      loop, [&] { return server_of(*relay).registered_count() == 1; }, 12s));
  Node b(loop, cb, ib, relayed_options(s.root / "b", at, {}, false));
  REQUIRE_MESSAGE(b.start(&detail), detail);
  REQUIRE(b.host().dial(ia.public_key()));
  bool back = false;
  b.host().on_message([&](const PublicKey&, std::span<const std::uint8_t>) { back = true; });
  REQUIRE(b.host().send(ia.public_key(), Bytes{42}));
  REQUIRE(run_until(
      loop, [&] { return back; }, 10s));
  CHECK(b.host().route_of(ia.public_key()).kind == Route::Kind::relayed);
}

TEST_CASE(
    "when its relay dies, a relayed path moves to the next configured relay "
    "(acceptance, about 6 s)") {
  Scratch s;
  Loop loop;
  Counters c1, c2, ca, cb;
  const Identity r1_id = Identity::generate();
  const Identity r2_id = Identity::generate();
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  std::optional<Node> r1;
  r1.emplace(loop, c1, r1_id, relay_options(s.root / "r1"));
  Node r2(loop, c2, r2_id, relay_options(s.root / "r2"));
  std::string detail;
  REQUIRE_MESSAGE(r1->start(&detail), detail);
  REQUIRE_MESSAGE(r2.start(&detail), detail);
  auto two_relays = [&](const fs::path& dir) {
    NodeOptions o = relayed_options(dir, r1->local_endpoint(), r1_id.public_key(), false);
    o.host.router.relays.push_back(RelaySpec{r2_id.public_key(), r2.local_endpoint(), "r2"});
    // A dead relay is noticed within 0.1 + 0.2 + 0.4 s of its first missed keepalive.
    o.host.router.relay_client.retry_initial = 100ms;
    o.host.router.relay_client.retry_max = 400ms;
    return o;
  };
  Node a(loop, ca, ia, two_relays(s.root / "a"));
  Node b(loop, cb, ib, two_relays(s.root / "b"));
  REQUIRE_MESSAGE(a.start(&detail), detail);
  REQUIRE_MESSAGE(b.start(&detail), detail);
  echo(a);
  int echoed = 0;
  b.host().on_message([&](const PublicKey&, std::span<const std::uint8_t>) { ++echoed; });
  REQUIRE(run_until(
      loop, [&] { return a.host().router().relays_registered() == 2 && b.host().router().relays_registered() == 2; }, 5s));
  REQUIRE(b.host().dial(ia.public_key()));
  REQUIRE(b.host().send(ia.public_key(), Bytes{1}));
  REQUIRE(run_until(
      loop, [&] { return echoed == 1; }, 5s));
  CHECK(b.host().route_of(ia.public_key()) == Route::relayed_via(r1_id.public_key()));
  r1.reset();
  REQUIRE(run_until(
      loop, [&] { return b.host().route_of(ia.public_key()) == Route::relayed_via(r2_id.public_key()); },
      10s));
  REQUIRE(b.host().send(ia.public_key(), Bytes{2}));
  REQUIRE(run_until(
      loop, [&] { return echoed == 2; }, 5s));
  CHECK(b.host().router().relays_registered() == 1);
}
