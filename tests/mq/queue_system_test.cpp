// Producers, a broker and consumers together, wired by direct calls on virtual time: the
// whole queue protocol end to end, including broker crashes (the Broker object is thrown
// away and rebuilt from the records committed so far).
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "mq/consumer_core.hpp"
#include "mq/producer_core.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace std::chrono_literals;

namespace {

struct ProducerNode {
  PublicKey key;
  SinkRecorder sink;
  std::unique_ptr<ProducerCore> core;
  bool up = false;
  std::map<std::uint64_t, std::string> published;  // id -> payload
  std::map<std::uint64_t, int> answers;             // id -> times surfaced
  std::map<std::uint64_t, std::string> answer_text;
};

struct ConsumerNode {
  PublicKey key;
  SinkRecorder sink;
  std::unique_ptr<ConsumerCore> core;
  bool up = false;
  bool answers = true;  // false: takes deliveries and never answers (a hung worker)
  int processed = 0;
};

class QueueNet {
 public:
  explicit QueueNet(BrokerConfig config = {}) : b(std::move(config)) {}

  ProducerNode& add_producer(std::uint8_t n, std::uint32_t inflight = 64) {
    auto node = std::make_unique<ProducerNode>();
    node->key = key(n);
    ProducerConfig config;
    config.name = "producer-" + std::to_string(n);
    config.max_inflight = inflight;
    config.first_id = std::uint64_t{n} << 32;
    node->core = std::make_unique<ProducerCore>(config, node->sink, b.clock.wall_now());
    producers.push_back(std::move(node));
    connect(*producers.back());
    return *producers.back();
  }

  ConsumerNode& add_consumer(std::uint8_t n, std::vector<std::string> commands,
                             std::uint32_t prefetch = 8) {
    auto node = std::make_unique<ConsumerNode>();
    node->key = key(n);
    ConsumerConfig config;
    config.name = "consumer-" + std::to_string(n);
    config.commands = std::move(commands);
    config.prefetch = prefetch;
    node->core = std::make_unique<ConsumerCore>(config, node->sink);
    consumers.push_back(std::move(node));
    connect(*consumers.back());
    return *consumers.back();
  }

  template <class Node>
  void connect(Node& n) {
    b.broker->on_connect(n.key, b.clock.now());
    n.core->on_connected(b.clock.now());
    n.up = true;
  }

  template <class Node>
  void disconnect(Node& n) {
    n.up = false;
    n.core->on_disconnected();
    n.sink.sent.clear();
    b.broker->on_disconnect(n.key, b.clock.now());
  }

  // The broker process dies: uncommitted records and unsent messages are lost; every
  // client sees its connection drop and reconnects to the restarted broker.
  void crash_broker() {
    for (auto& p : producers) {
      p->core->on_disconnected();
      p->sink.sent.clear();
    }
    for (auto& c : consumers) {
      c->core->on_disconnected();
      c->sink.sent.clear();
    }
    b.crash();
    for (auto& p : producers) {
      if (p->up) connect(*p);
    }
    for (auto& c : consumers) {
      if (c->up) connect(*c);
    }
  }

  std::uint64_t publish(ProducerNode& p, std::string_view command, std::string payload) {
    const Bytes body = bytes(payload);
    PublishRequest r;
    r.command = command;
    r.payload = body;
    auto id = p.core->publish(r, b.clock.now());
    REQUIRE(id);
    p.published[*id] = std::move(payload);
    return *id;
  }

  // Moves messages until nobody has anything to say; commits the journal each round like
  // the runtime's loop does once per iteration.
  void pump() {
    for (int round = 0; round < 100000; ++round) {
      bool moved = false;
      for (auto& p : producers) moved |= to_broker(p->key, p->sink, p->up);
      for (auto& c : consumers) moved |= to_broker(c->key, c->sink, c->up);
      if (b.journal.last() > b.committed) {
        b.commit();
        moved = true;
      }
      auto sent = std::move(b.out.sent);
      b.out.sent.clear();
      for (auto& [peer, bytes] : sent) {
        moved = true;
        deliver(peer, bytes);
      }
      if (!moved) return;
    }
    FAIL("the queue never went quiet");
  }

  // Runs every timer due within `d`, pumping after each step.
  void run_for(Duration d, Duration step = 100ms) {
    const Instant end = b.clock.now() + d;
    while (b.clock.now() < end) {
      b.clock.advance(step);
      const Instant now = b.clock.now();
      if (b.broker->next_deadline() <= now) b.broker->on_timeout(now);
      for (auto& p : producers) {
        if (p->core->next_deadline() <= now) p->core->on_timeout(now);
      }
      pump();
    }
  }

  BrokerHarness b;
  std::vector<std::unique_ptr<ProducerNode>> producers;
  std::vector<std::unique_ptr<ConsumerNode>> consumers;

 private:
  bool to_broker(const PublicKey& key, SinkRecorder& sink, bool up) {
    if (sink.sent.empty()) return false;
    auto sent = std::move(sink.sent);
    sink.sent.clear();
    if (!up) return false;
    for (const Bytes& m : sent) (void)b.broker->on_message(key, m, b.clock.now());
    return true;
  }

  void deliver(const PublicKey& peer, const Bytes& bytes) {
    for (auto& p : producers) {
      if (p->key != peer || !p->up) continue;
      auto e = p->core->on_message(bytes, b.clock.now());
      REQUIRE(e);
      if (e->kind == ProducerEvent::Kind::answer) {
        ++p->answers[e->id];
        p->answer_text[e->id] = text(e->payload);
      }
    }
    for (auto& c : consumers) {
      if (c->key != peer || !c->up) continue;
      auto e = c->core->on_message(bytes, b.clock.now());
      REQUIRE(e);
      if (e->kind != ConsumerEvent::Kind::delivery) continue;
      ++c->processed;
      if (!c->answers) continue;
      const Bytes answer = bytes_of("re:" + text(e->delivery.payload));
      REQUIRE(c->core->answer(e->delivery.tag, answer));
    }
  }

  static Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
};

// Every message published by `p` was answered exactly once, with the right answer.
void check_all_answered_once(const ProducerNode& p) {
  CHECK(p.answers.size() == p.published.size());
  for (const auto& entry : p.published) {
    const std::uint64_t id = entry.first;
    const std::string& payload = entry.second;
    CAPTURE(id);
    auto it = p.answers.find(id);
    REQUIRE(it != p.answers.end());
    CHECK(it->second == 1);
    CHECK(p.answer_text.at(id) == "re:" + payload);
  }
  CHECK(p.core->in_flight() == 0);
}

}  // namespace

TEST_CASE("every published message is answered exactly once through the whole queue") {
  QueueNet net;
  ProducerNode& p1 = net.add_producer(1);
  ProducerNode& p2 = net.add_producer(2);
  for (std::uint8_t n = 10; n < 13; ++n) net.add_consumer(n, {"jobs"});
  net.add_consumer(13, {"users.get"});
  for (int i = 0; i < 500; ++i) {
    net.publish(p1, "jobs", "p1-" + std::to_string(i));
    net.publish(p2, i % 2 ? "jobs" : "users.get", "p2-" + std::to_string(i));
    if (i % 50 == 49) net.pump();
  }
  net.pump();
  check_all_answered_once(p1);
  check_all_answered_once(p2);
  int processed = 0;
  for (auto& c : net.consumers) processed += c->processed;
  CHECK(processed == 1000);
  CHECK(net.b.broker->stats().stored_messages == 0);
  CHECK(net.b.broker->stats().stored_answers == 0);
}

TEST_CASE("a broker crash loses no confirmed message: producers resend, all are answered") {
  QueueNet net;
  ProducerNode& p = net.add_producer(1, 1000);
  ConsumerNode& c = net.add_consumer(10, {"jobs"});
  c.answers = false;  // nothing is answered before the crash
  for (int i = 0; i < 300; ++i) net.publish(p, "jobs", std::to_string(i));
  net.pump();
  // Some more that reach the journal but whose commit never happens.
  for (int i = 300; i < 350; ++i) net.publish(p, "jobs", std::to_string(i));
  for (const Bytes& m : p.sink.sent) (void)net.b.broker->on_message(p.key, m, net.b.clock.now());
  p.sink.sent.clear();
  CHECK(net.b.journal.last() > net.b.committed);
  net.crash_broker();
  CHECK(net.b.broker->stats().stored_messages == 300);
  net.disconnect(c);
  c.answers = true;
  net.connect(c);
  net.pump();
  net.run_for(3s);
  check_all_answered_once(p);
  CHECK(p.core->stats().resends >= 50);  // the 50 lost ones at least
  CHECK(c.processed >= 350);  // at least once: some were delivered before the crash too
}

TEST_CASE("repeated crashes with the log trimmed to the floor still answer everything") {
  BrokerConfig config;
  config.compact_min_span = 16;
  QueueNet net(config);
  ProducerNode& p = net.add_producer(1, 200);
  net.add_consumer(10, {"jobs"}, 4);
  net.add_consumer(11, {"rare"}, 1);
  int next = 0;
  for (int cycle = 0; cycle < 8; ++cycle) {
    for (int i = 0; i < 40; ++i, ++next) {
      net.publish(p, next % 10 == 0 ? "rare" : "jobs", std::to_string(next));
    }
    net.pump();
    net.b.journal.delete_below(net.b.broker->live_floor());
    // Half-done work: some publishes appended but not committed, then the crash.
    for (int i = 0; i < 5; ++i, ++next) net.publish(p, "jobs", std::to_string(next));
    for (const Bytes& m : p.sink.sent) {
      (void)net.b.broker->on_message(p.key, m, net.b.clock.now());
    }
    p.sink.sent.clear();
    net.crash_broker();
    net.pump();
  }
  net.run_for(5s);
  check_all_answered_once(p);
  CHECK(net.b.broker->stats().stored_messages == 0);
  net.b.journal.delete_below(net.b.broker->live_floor());
  CHECK(net.b.journal.records.size() < 40);  // old segments went away
  CHECK(net.b.journal.records.front().seq > 500);
}

TEST_CASE("a consumer that dies mid-work has its messages processed by another") {
  QueueNet net;
  ProducerNode& p = net.add_producer(1);
  ConsumerNode& dying = net.add_consumer(10, {"jobs"}, 5);
  dying.answers = false;
  for (int i = 0; i < 5; ++i) net.publish(p, "jobs", std::to_string(i));
  net.pump();
  CHECK(dying.processed == 5);
  ConsumerNode& healthy = net.add_consumer(11, {"jobs"}, 5);
  net.disconnect(dying);
  net.pump();
  CHECK(healthy.processed == 5);
  check_all_answered_once(p);
}

TEST_CASE("a hung consumer's messages go to another after the visibility timeout") {
  BrokerConfig config;
  config.visibility_timeout = 2s;
  QueueNet net(config);
  ProducerNode& p = net.add_producer(1);
  ConsumerNode& hung = net.add_consumer(10, {"jobs"}, 3);
  hung.answers = false;
  for (int i = 0; i < 3; ++i) net.publish(p, "jobs", std::to_string(i));
  net.pump();
  ConsumerNode& healthy = net.add_consumer(11, {"jobs"}, 3);
  net.pump();
  CHECK(healthy.processed == 0);
  net.run_for(3s);
  CHECK(healthy.processed == 3);
  check_all_answered_once(p);
}

TEST_CASE("a full queue slows producers down and every message still gets through") {
  BrokerConfig config;
  config.max_messages = 10;
  QueueNet net(config);
  ProducerNode& p = net.add_producer(1, 100);
  for (int i = 0; i < 100; ++i) net.publish(p, "jobs", std::to_string(i));
  net.pump();
  CHECK(net.b.broker->stats().stored_messages == 10);
  CHECK(p.core->stats().queue_full > 0);
  net.add_consumer(10, {"jobs"}, 2);
  net.run_for(10s, 20ms);
  check_all_answered_once(p);
}

TEST_CASE("answers wait for a producer that went away and reach it when it comes back") {
  QueueNet net;
  ProducerNode& p = net.add_producer(1);
  for (int i = 0; i < 20; ++i) net.publish(p, "jobs", std::to_string(i));
  net.pump();
  net.disconnect(p);
  net.add_consumer(10, {"jobs"});
  net.pump();
  CHECK(p.answers.empty());
  CHECK(net.b.broker->stats().stored_answers == 20);
  net.crash_broker();  // and the broker restarts meanwhile
  net.connect(p);
  net.pump();
  check_all_answered_once(p);
  CHECK(net.b.broker->stats().stored_answers == 0);
}
