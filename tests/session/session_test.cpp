#include "session/session.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "session/packet.hpp"
#include "session/session_network.hpp"

using namespace peermq;
using namespace peermq::session;
using namespace peermq::session::test;
using namespace std::chrono_literals;
using Kind = SessionEvent::Kind;

namespace {

std::vector<std::uint8_t> numbered(char who, int i) {
  return bytes_of(std::string(1, who) + std::to_string(i));
}

// Sends one numbered message each way every `step` until `until`; returns how many each
// side sent.
int exchange(Network& net, Instant until, Duration step, int first = 0) {
  int i = first;
  for (; net.now < until; ++i) {
    REQUIRE(net.a().endpoint.send(net.b().key(), numbered('a', i), net.now));
    REQUIRE(net.b().endpoint.send(net.a().key(), numbered('b', i), net.now));
    net.pump();
    net.advance(step);
  }
  return i;
}

void check_all_delivered_in_order(const Node& to, char from, int count) {
  const auto got = to.delivered();
  REQUIRE(got.size() == static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) REQUIRE(got[static_cast<std::size_t>(i)] == numbered(from, i));
}

}  // namespace

TEST_CASE("two minutes of traffic both ways rekey without losing or repeating a message") {
  Network net;
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  const Session* ab = net.a().endpoint.session(net.b().key());
  const Session* ba = net.b().endpoint.session(net.a().key());
  const std::uint32_t first_a = ab->current_index();
  const std::uint32_t first_b = ba->current_index();
  REQUIRE(first_a != 0);
  REQUIRE(first_b != 0);
  const Instant start = net.now;

  int sent = exchange(net, start + 130s, 10ms);
  CHECK(ab->current_index() != first_a);  // rekeyed at 120 s
  CHECK(ba->current_index() != first_b);
  CHECK(net.a().count(Kind::established) == 2);
  CHECK(net.b().count(Kind::established) == 2);
  check_all_delivered_in_order(net.b(), 'a', sent);
  check_all_delivered_in_order(net.a(), 'b', sent);
  CHECK(net.a().endpoint.stats().drops == decltype(net.a().endpoint.stats().drops){});
  CHECK(net.b().endpoint.stats().drops == decltype(net.b().endpoint.stats().drops){});
  CHECK(ab->keypair_count() <= 2);
  CHECK(ba->keypair_count() <= 2);

  // The first keypair is kept only while packets under it may be in flight: by the time
  // it would be refused (reject_after_time) it is destroyed, keys wiped.
  sent = exchange(net, start + 185s, 100ms, sent);
  check_all_delivered_in_order(net.b(), 'a', sent);
  CHECK(net.a().endpoint.index_count() == ab->keypair_count());
  CHECK(net.b().endpoint.index_count() == ba->keypair_count());
  CHECK(Keypair::live() == ab->keypair_count() + ba->keypair_count());
  CHECK(ab->keypair_count() == 1);
}

TEST_CASE("the initiator rekeys after rekey_after_messages and retires old keypairs") {
  SessionConfig config;
  config.rekey_after_messages = 50;
  Network net(config);
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  const Session* ab = net.a().endpoint.session(net.b().key());
  const std::uint32_t first = ab->current_index();
  const int sent = exchange(net, net.now + 2s, 10ms);  // 200 messages each way
  CHECK(net.a().endpoint.stats().handshakes_completed >= 4);
  CHECK(ab->current_index() != first);
  CHECK(net.a().endpoint.index_count() <= 2);  // current and previous, nothing older
  CHECK(Keypair::live() <= 4);
  check_all_delivered_in_order(net.b(), 'a', sent);
  check_all_delivered_in_order(net.a(), 'b', sent);
}

TEST_CASE("a keypair past reject_after_messages is not used: a new handshake starts") {
  SessionConfig config;
  config.reject_after_messages = 3;
  Network net(config);
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  net.advance(1ms);  // a later timestamp: initiations at the same instant look replayed
  // The confirming keepalive used counter 0; two more fit, the third must wait.
  for (int i = 0; i < 3; ++i) REQUIRE(net.a().endpoint.send(net.b().key(), numbered('a', i), net.now));
  CHECK(net.a().endpoint.session(net.b().key())->queued() == 1);
  CHECK(net.a().endpoint.stats().handshakes_initiated == 2);
  net.pump();
  CHECK(net.b().delivered().size() == 3);
}

TEST_CASE("a keepalive follows received data when there is nothing to send") {
  Network net;
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("ping"), net.now));
  net.pump();
  const auto before = net.a().endpoint.stats().keepalives_sent;
  net.advance(limits::kKeepaliveInterval - 1ms);
  CHECK(net.a().endpoint.stats().keepalives_sent == before);
  net.advance(1ms);
  CHECK(net.a().endpoint.stats().keepalives_sent == before + 1);
  CHECK(net.b().delivered().empty());  // keepalives are not messages
  // Sending in time makes the keepalive unnecessary.
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("ping"), net.now));
  net.pump();
  REQUIRE(net.a().endpoint.send(net.b().key(), bytes_of("pong"), net.now));
  net.pump();
  net.advance(limits::kKeepaliveInterval + 1ms);
  CHECK(net.a().endpoint.stats().keepalives_sent == before + 1);
}

TEST_CASE("data that asks for no answer arms neither the peer's keepalive nor our handshake") {
  Network net;
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  net.advance(1s);  // the confirming keepalive settles
  const auto keepalives = net.a().endpoint.stats().keepalives_sent;
  const auto handshakes = net.b().endpoint.stats().handshakes_initiated;
  // b acknowledges something (an ACK-only channel packet): it waits for nothing back.
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("ack"), net.now, Elicits::nothing));
  net.pump();
  REQUIRE(net.a().delivered().size() == 1);
  net.a().endpoint.owe_nothing(net.b().key());  // a's reader saw it asks for nothing
  // Well past keepalive_interval + rekey_timeout: a sent no keepalive, and b, hearing
  // nothing, did not take its keys for dead.
  net.advance(limits::kKeepaliveInterval + limits::kRekeyTimeout + 1s);
  CHECK(net.a().endpoint.stats().keepalives_sent == keepalives);
  CHECK(net.b().endpoint.stats().handshakes_initiated == handshakes);
  // Data that asks for an answer still gets its keepalive, even if data asking for nothing
  // came after it: owe_nothing() takes back only the keepalive the last delivery armed.
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("ping"), net.now));
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("ack"), net.now, Elicits::nothing));
  net.pump();
  net.a().endpoint.owe_nothing(net.b().key());
  net.advance(limits::kKeepaliveInterval + 1ms);
  CHECK(net.a().endpoint.stats().keepalives_sent == keepalives + 1);
}

TEST_CASE("an idle client's keepalives cost a packet each way, rekeys a handshake per two minutes") {
  // a PINGs every 15 s (asks for an answer); b answers with an ACK that asks for nothing.
  Network net;
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  const std::size_t start = net.wire.size();
  for (int i = 0; i < 40; ++i) {  // ten minutes
    net.advance(15s);
    REQUIRE(net.a().endpoint.send(net.b().key(), bytes_of("ping"), net.now));
    net.pump();
    REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("ack"), net.now, Elicits::nothing));
    net.pump();
    net.a().endpoint.owe_nothing(net.b().key());  // a's reader: the ACK asks for nothing
  }
  net.advance(1s);
  const std::size_t packets = net.wire.size() - start;
  MESSAGE(packets << " datagrams in ten idle minutes, "
                  << net.a().endpoint.stats().handshakes_initiated << " handshakes");
  // 80 for the PINGs and ACKs; a rekey every 120 s: initiation, response and the
  // initiator's confirming keepalive.
  CHECK(net.a().endpoint.stats().handshakes_initiated <= 1 + 5);
  CHECK(packets <= 80 + 5 * 3);
  CHECK(net.b().endpoint.stats().handshakes_initiated == 0);
}

TEST_CASE("a silent peer's session is torn down after the idle timeout") {
  Network net;
  REQUIRE(net.a().endpoint.connect(net.b().key(), net.now));
  net.pump();
  REQUIRE(net.a().endpoint.session(net.b().key())->keypair_count() == 1);
  net.tap = [](const Node&, const Node&, std::vector<std::uint8_t>&) { return false; };
  net.advance(limits::kSessionIdleTimeout - 1ms);
  CHECK(net.a().count(Kind::closed) == 0);
  net.advance(1ms);
  CHECK(net.a().count(Kind::closed) == 1);
  CHECK(net.b().count(Kind::closed) == 1);
  CHECK(net.a().endpoint.session(net.b().key())->keypair_count() == 0);
  CHECK(net.a().endpoint.index_count() == 0);
  CHECK(Keypair::live() == 0);
}

TEST_CASE("an unanswered handshake is retried with growing, jittered gaps, then given up") {
  Network net;
  std::vector<Instant> sent_at;
  net.tap = [&](const Node&, const Node&, std::vector<std::uint8_t>&) {
    sent_at.push_back(net.now);
    return false;  // the responder never hears anything
  };
  REQUIRE(net.a().endpoint.send(net.b().key(), bytes_of("lost"), net.now));
  net.pump();
  net.advance(200s);
  REQUIRE(sent_at.size() == limits::kMaxHandshakeAttempts);
  Duration base = limits::kHandshakeRetryInitial;
  bool jittered = false;
  for (std::size_t i = 1; i < sent_at.size(); ++i) {
    const Duration gap = sent_at[i] - sent_at[i - 1];
    CHECK(gap >= base);
    CHECK(gap <= base + limits::kHandshakeRetryJitter);
    jittered = jittered || gap > base;
    base = std::min<Duration>(base * limits::kHandshakeRetryBackoff, limits::kHandshakeRetryMax);
  }
  CHECK(jittered);
  CHECK(net.a().count(Kind::handshake_failed) == 1);
  const Session* s = net.a().endpoint.session(net.b().key());
  CHECK_FALSE(s->handshake_pending());
  CHECK(s->queued() == 0);  // what waited for the session is dropped with it
  CHECK(net.a().endpoint.index_count() == 0);
  CHECK(net.a().endpoint.next_deadline() == Instant::max());
}

TEST_CASE("a lost response is recovered by the initiator's retry") {
  Network net;
  int responses = 0;
  net.tap = [&](const Node&, const Node&, std::vector<std::uint8_t>& bytes) {
    return !(bytes[0] == 2 && responses++ == 0);
  };
  REQUIRE(net.a().endpoint.send(net.b().key(), bytes_of("late"), net.now));
  net.pump();
  CHECK(net.a().count(Kind::established) == 0);
  net.advance(limits::kHandshakeRetryInitial + limits::kHandshakeRetryJitter);
  CHECK(net.a().count(Kind::established) == 1);
  CHECK(net.b().delivered() == std::vector<std::vector<std::uint8_t>>{bytes_of("late")});
  // The responder dropped the keypair of the first, unconfirmed handshake.
  CHECK(net.b().endpoint.session(net.a().key())->keypair_count() == 1);
}

TEST_CASE("when both sides initiate at once both end up with working keys") {
  Network net;
  REQUIRE(net.a().endpoint.send(net.b().key(), bytes_of("from a"), net.now));
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("from b"), net.now));
  net.pump();
  CHECK(net.b().delivered() == std::vector<std::vector<std::uint8_t>>{bytes_of("from a")});
  CHECK(net.a().delivered() == std::vector<std::vector<std::uint8_t>>{bytes_of("from b")});
  REQUIRE(net.a().endpoint.send(net.b().key(), bytes_of("again"), net.now));
  REQUIRE(net.b().endpoint.send(net.a().key(), bytes_of("again"), net.now));
  net.pump();
  CHECK(net.a().delivered().size() == 2);
  CHECK(net.b().delivered().size() == 2);
  CHECK(net.a().endpoint.stats().drops == decltype(net.a().endpoint.stats().drops){});
}
