#include "mq/producer_core.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <ostream>
#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace std::chrono_literals;

namespace {

struct ProducerHarness {
  explicit ProducerHarness(ProducerConfig config = with_first_id()) {
    core = std::make_unique<ProducerCore>(std::move(config), sink, clock.wall_now());
  }
  static ProducerConfig with_first_id() {
    ProducerConfig c;
    c.first_id = 100;
    return c;
  }

  std::uint64_t publish(std::string_view payload, bool want_answer = true) {
    const Bytes body = bytes(payload);
    PublishRequest r;
    r.command = "jobs";
    r.payload = body;
    r.want_answer = want_answer;
    auto id = core->publish(r, clock.now());
    REQUIRE(id);
    return *id;
  }

  ProducerEvent feed(const Message& m) {
    storage.emplace_back();
    encode(m, storage.back());
    auto e = core->on_message(storage.back(), clock.now());
    REQUIRE(e);
    return *e;
  }

  // Publish ids sent since the last call.
  std::vector<std::uint64_t> sent_ids() {
    std::vector<std::uint64_t> ids;
    for (Got& g : sink.take()) {
      if (g.type() == MessageType::publish) ids.push_back(g.as<Publish>().id);
    }
    return ids;
  }

  void advance(Duration d) {
    clock.advance(d);
    if (core->next_deadline() <= clock.now()) core->on_timeout(clock.now());
  }

  ManualClock clock;
  SinkRecorder sink;
  std::unique_ptr<ProducerCore> core;
  std::vector<Bytes> storage;  // keeps fed bytes alive for the events' views
};

}  // namespace

TEST_CASE("a producer says hello on connect, then sends what it published offline, in order") {
  ProducerHarness h;
  h.publish("a");
  h.publish("b");
  CHECK(h.sink.sent.empty());
  h.core->on_connected(h.clock.now());
  auto got = h.sink.take();
  REQUIRE(got.size() == 3);
  CHECK(got[0].as<Hello>().role == Role::producer);
  CHECK(got[1].as<Publish>().id == 100);
  CHECK(got[2].as<Publish>().id == 101);
  CHECK(text(got[2].as<Publish>().payload) == "b");
}

TEST_CASE("producer ids start from the wall clock, so a restarted producer does not reuse them") {
  ManualClock clock;
  SinkRecorder sink;
  ProducerCore first({}, sink, clock.wall_now());
  first.on_connected(clock.now());
  const Bytes body = bytes("x");
  PublishRequest r;
  r.payload = body;
  std::uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) last = *first.publish(r, clock.now());
  clock.advance(1ms);
  ProducerCore second({}, sink, clock.wall_now());
  second.on_connected(clock.now());
  CHECK(*second.publish(r, clock.now()) > last);
}

TEST_CASE("an unconfirmed publish is sent again after the retry interval, a confirmed one not") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  const std::uint64_t b = h.publish("b");
  CHECK(h.sent_ids() == std::vector<std::uint64_t>{a, b});
  CHECK(h.feed(Confirm{a}).kind == ProducerEvent::Kind::confirmed);
  CHECK(h.core->next_deadline() == h.clock.now() + limits::kPublishRetryInterval);
  h.advance(500ms);
  CHECK(h.sent_ids().empty());
  h.advance(500ms);
  CHECK(h.sent_ids() == std::vector<std::uint64_t>{b});
  CHECK(h.core->stats().resends == 1);
}

TEST_CASE("publishes unconfirmed at a disconnect are sent again on reconnect") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  const std::uint64_t b = h.publish("b");
  (void)h.feed(Confirm{a});
  (void)h.sink.take();
  h.core->on_disconnected();
  const std::uint64_t c = h.publish("c");
  CHECK(h.sink.sent.empty());
  h.core->on_connected(h.clock.now());
  CHECK(h.sent_ids() == std::vector<std::uint64_t>{b, c});
}

TEST_CASE("the in-flight window blocks publishing until answers arrive") {
  ProducerConfig config = ProducerHarness::with_first_id();
  config.max_inflight = 2;
  ProducerHarness h(config);
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  h.publish("b");
  const Bytes body = bytes("c");
  PublishRequest r;
  r.payload = body;
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::would_block);
  (void)h.feed(Confirm{a});  // confirmed is not enough: an answer is wanted
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::would_block);
  const ProducerEvent e = h.feed(AnswerToProducer{a, AnswerStatus::answered, body, ""});
  CHECK(e.kind == ProducerEvent::Kind::answer);
  CHECK(h.core->publish(r, h.clock.now()));
}

TEST_CASE("a publish that wants no answer leaves the window at its confirm") {
  ProducerConfig config = ProducerHarness::with_first_id();
  config.max_inflight = 1;
  ProducerHarness h(config);
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a", false);
  CHECK(h.core->in_flight() == 1);
  (void)h.feed(Confirm{a});
  CHECK(h.core->in_flight() == 0);
}

TEST_CASE("queue_full pauses all publishing for a growing backoff, then retries") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  (void)h.sent_ids();
  CHECK(h.feed(PublishNack{a, NackReason::queue_full, "full"}).kind ==
        ProducerEvent::Kind::none);
  const std::uint64_t b = h.publish("b");
  CHECK(h.sent_ids().empty());  // paused
  CHECK(h.core->next_deadline() == h.clock.now() + limits::kPublishBackoffInitial);
  h.advance(limits::kPublishBackoffInitial);
  CHECK(h.sent_ids() == std::vector<std::uint64_t>{a, b});
  (void)h.feed(PublishNack{a, NackReason::queue_full, "full"});
  CHECK(h.core->next_deadline() == h.clock.now() + 2 * limits::kPublishBackoffInitial);
  CHECK(h.core->stats().queue_full == 2);
}

TEST_CASE("too_large and not_allowed nacks fail a message for good") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  const ProducerEvent e = h.feed(PublishNack{a, NackReason::not_allowed, "no jobs for you"});
  CHECK(e.kind == ProducerEvent::Kind::failed);
  CHECK(e.id == a);
  CHECK(e.nack == NackReason::not_allowed);
  CHECK(e.text == "no jobs for you");
  CHECK(h.core->in_flight() == 0);
  (void)h.sent_ids();
  h.advance(10s);
  CHECK(h.sent_ids().empty());
}

TEST_CASE("an answer is surfaced once and acknowledged every time it arrives") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  (void)h.sink.take();
  const Bytes body = bytes("42");
  const ProducerEvent first = h.feed(AnswerToProducer{a, AnswerStatus::answered, body, ""});
  CHECK(first.kind == ProducerEvent::Kind::answer);
  CHECK(text(first.payload) == "42");
  const ProducerEvent again = h.feed(AnswerToProducer{a, AnswerStatus::answered, body, ""});
  CHECK(again.kind == ProducerEvent::Kind::none);
  CHECK(h.core->stats().duplicate_answers == 1);
  auto got = h.sink.take();
  REQUIRE(got.size() == 2);
  CHECK(got[0].as<AnswerReceived>().message_id == a);
  CHECK(got[1].as<AnswerReceived>().message_id == a);
}

TEST_CASE("an answer settles a publish whose confirm was lost") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a");
  (void)h.sent_ids();
  (void)h.feed(AnswerToProducer{a, AnswerStatus::answered, {}, ""});
  h.advance(5s);
  CHECK(h.sent_ids().empty());
  CHECK(h.core->in_flight() == 0);
}

TEST_CASE("an answer to a message from before a restart is surfaced") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const ProducerEvent e = h.feed(AnswerToProducer{7, AnswerStatus::expired, {}, "too late"});
  CHECK(e.kind == ProducerEvent::Kind::answer);
  CHECK(e.status == AnswerStatus::expired);
  CHECK(e.text == "too late");
  const ProducerEvent again = h.feed(AnswerToProducer{7, AnswerStatus::expired, {}, "too late"});
  CHECK(again.kind == ProducerEvent::Kind::none);
  CHECK(h.core->stats().duplicate_answers == 1);
}

TEST_CASE("an answer to one of our messages that is no longer held is a duplicate") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const std::uint64_t a = h.publish("a", false);  // no answer wanted: gone at its confirm
  (void)h.feed(Confirm{a});
  CHECK(h.core->in_flight() == 0);
  const ProducerEvent e = h.feed(AnswerToProducer{a, AnswerStatus::answered, {}, ""});
  CHECK(e.kind == ProducerEvent::Kind::none);
  CHECK(h.core->stats().duplicate_answers == 1);
  // Acknowledged all the same, so the broker forgets it.
  auto got = h.sink.take();
  REQUIRE(!got.empty());
  CHECK(got.back().as<AnswerReceived>().message_id == a);
}

TEST_CASE("a refused producer stops publishing") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  const ProducerEvent e = h.feed(Refused{RefuseCode::not_allowed, "not allowed to produce"});
  CHECK(e.kind == ProducerEvent::Kind::refused);
  const Bytes body = bytes("x");
  PublishRequest r;
  r.payload = body;
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::refused);
}

TEST_CASE("invalid publish requests are refused before anything is sent") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  (void)h.sink.take();
  PublishRequest r;
  r.command = "bad*";
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::bad_command);
  r.command = "ok";
  r.priority = limits::kMaxPriority + 1;
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::bad_publish);
  r.priority = 0;
  r.ttl = limits::kMaxMessageTtl + 1s;
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::bad_publish);
  r.ttl = 0s;
  const std::string long_value(limits::kMaxHeaderValue + 1, 'v');
  const std::pair<std::string_view, std::string_view> header{"k", long_value};
  r.headers = std::span(&header, 1);
  CHECK(h.core->publish(r, h.clock.now()).error() == MqError::bad_publish);
  CHECK(h.sink.sent.empty());
  CHECK(h.core->in_flight() == 0);
}

TEST_CASE("a publish carries its headers, TTL and priority") {
  ProducerHarness h;
  h.core->on_connected(h.clock.now());
  (void)h.sink.take();
  const std::pair<std::string_view, std::string_view> headers[] = {{"a", "1"}, {"b", "2"}};
  const Bytes body = bytes("p");
  PublishRequest r;
  r.command = "users.get";
  r.headers = headers;
  r.payload = body;
  r.ttl = 1500ms;
  r.priority = 7;
  REQUIRE(h.core->publish(r, h.clock.now()));
  auto got = h.sink.take();
  const Publish& p = got.at(0).as<Publish>();
  CHECK(p.command == "users.get");
  CHECK(p.headers.count == 2);
  CHECK(p.headers.find("b") == std::optional<std::string_view>("2"));
  CHECK(p.ttl_ms == 1500);
  CHECK(p.priority == 7);
  CHECK(p.flags == 0);
}
