#include "runtime/node.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using peermq::Counters;
using peermq::Identity;
using peermq::PublicKey;
using peermq::runtime::Endpoint;
using peermq::runtime::LocalDirectoryError;
using peermq::runtime::Loop;
using peermq::runtime::Node;
using peermq::runtime::NodeOptions;
using peermq::runtime::Timer;
using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path root = fs::temp_directory_path() /
                  ("peermq-node-test-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
};

template <class Done>
bool run_until(Loop& loop, Done done, peermq::Duration limit) {
  Timer guard(loop);
  bool expired = false;
  guard.start(limit, [&] { expired = true; });
  while (!done() && !expired) loop.run_once();
  return done();
}

NodeOptions options(const fs::path& dir) {
  NodeOptions o;
  o.listen = Endpoint::v4({127, 0, 0, 1}, 0);
  o.discovery_dir = dir;
  o.transport.session.keepalive_interval = 200ms;
  o.transport.session.rekey_timeout = 200ms;
  o.transport.session.retry_initial = 100ms;
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
  client_options.announce = false;
  Node client(loop, counters, client_id, client_options);
  std::string detail;
  REQUIRE_MESSAGE(client.start(&detail), detail);
  std::vector<Bytes> at_client;
  client.transport().on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
    at_client.emplace_back(m.begin(), m.end());
  });
  CHECK(client.dial(server_id.public_key()).error() == LocalDirectoryError::not_found);

  for (int run = 0; run < 2; ++run) {
    CAPTURE(run);
    Counters server_counters;
    Node server(loop, server_counters, server_id, options(s.root));
    REQUIRE_MESSAGE(server.start(&detail), detail);
    server.transport().on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      (void)server.transport().send(from, m);  // echo
    });
    const std::size_t before = at_client.size();
    // The first run is found by dial(); the second by the node's own periodic lookup.
    if (run == 0) REQUIRE(client.dial(server_id.public_key()));
    const Bytes ping{static_cast<std::uint8_t>(run)};
    bool sent = false;
    // What was queued for the previous run is dropped when the restart is seen: resend.
    client.transport().on_peer_reset([&](const PublicKey&) { sent = false; });
    REQUIRE(run_until(
        loop,
        [&] {
          if (!sent &&
              client.transport().endpoint_of(server_id.public_key()) == server.local_endpoint()) {
            sent = client.transport().send(server_id.public_key(), ping).ok();
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
