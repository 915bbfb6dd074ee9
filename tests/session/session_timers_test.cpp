#include "session/session_timers.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "session/session.hpp"
#include "session/session_endpoint.hpp"

using namespace peermq;
using namespace peermq::session;
using namespace std::chrono_literals;

namespace {

const Instant t0 = ManualClock::kDefaultStart;

std::vector<std::unique_ptr<Session>> make_sessions(std::size_t n, const SessionConfig& config) {
  std::vector<std::unique_ptr<Session>> out;
  for (std::size_t i = 0; i < n; ++i) {
    PublicKey key{};
    key[0] = static_cast<std::uint8_t>(i);
    key[1] = static_cast<std::uint8_t>(i >> 8);
    out.push_back(std::make_unique<Session>(key, X25519PublicKey{}, config));
  }
  return out;
}

}  // namespace

TEST_CASE("session timers hand out due sessions earliest first, like a sorted map") {
  const SessionConfig config;
  auto sessions = make_sessions(200, config);
  SessionTimers timers;
  std::map<Session*, Instant> model;  // deadlines set, Instant::max() never stored
  std::mt19937_64 rng(11);
  auto pick = [&]() -> Session& { return *sessions[rng() % sessions.size()]; };
  Instant now = t0;
  std::vector<Session*> due;
  for (int op = 0; op < 50'000; ++op) {
    const auto roll = rng() % 10;
    if (roll < 6) {  // set or move a deadline, earlier or later
      Session& s = pick();
      const Instant at = now + std::chrono::milliseconds(rng() % 5000);
      timers.set(s, at);
      model[&s] = at;
    } else if (roll < 8) {
      Session& s = pick();
      timers.remove(s);
      model.erase(&s);
    } else {
      now += std::chrono::milliseconds(rng() % 300);
      due.clear();
      timers.take_due(now, due);
      Instant last = Instant::min();
      for (Session* s : due) {
        REQUIRE(model.count(s) == 1);
        REQUIRE(model[s] <= now);
        REQUIRE(model[s] >= last);  // earliest first
        last = model[s];
        model.erase(s);
      }
      for (const auto& [s, at] : model) REQUIRE(at > now);  // nothing due was left behind
    }
    REQUIRE(timers.size() == model.size());
    Instant earliest = Instant::max();
    for (const auto& [s, at] : model) earliest = std::min(earliest, at);
    REQUIRE(timers.next() == earliest);
  }
}

TEST_CASE("an endpoint's next deadline is its earliest session's, and each due session fires") {
  // Initiations to 60 peers that never answer: each session retransmits on its own backoff
  // with jitter, then gives up. The endpoint must track the earliest of them at all times.
  SessionConfig config;
  config.max_handshake_attempts = 4;
  const Identity self = Identity::generate();
  SessionEndpoint endpoint(self, config, t0, ManualClock::kDefaultWall);
  std::vector<PublicKey> peers;
  for (int i = 0; i < 60; ++i) peers.push_back(Identity::generate().public_key());
  Instant now = t0;
  auto earliest = [&] {
    Instant e = Instant::max();
    for (const PublicKey& p : peers) {
      if (const Session* s = endpoint.session(p)) e = std::min(e, s->next_deadline());
    }
    return e;
  };
  for (std::size_t i = 0; i < peers.size(); ++i) {
    REQUIRE(endpoint.connect(peers[i], now));
    now += 7ms;
    CHECK(endpoint.next_deadline() == earliest());
  }
  std::size_t failed = 0;
  for (int round = 0; round < 10'000 && endpoint.next_deadline() != Instant::max(); ++round) {
    now = endpoint.next_deadline();
    while (endpoint.poll_transmit()) {
    }
    for (const SessionEvent& e : endpoint.on_timeout(now)) {
      failed += e.kind == SessionEvent::Kind::handshake_failed;
    }
    CHECK(endpoint.next_deadline() > now);  // everything due fired
    CHECK(endpoint.next_deadline() == earliest());
  }
  CHECK(failed == peers.size());
  CHECK(endpoint.stats().handshakes_initiated == peers.size() * config.max_handshake_attempts);
}
