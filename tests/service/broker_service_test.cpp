#include "platform/service_node.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "service/consumer_client.hpp"
#include "service/producer_client.hpp"
#include "platform/timer.hpp"
#include "sim/queue_checker.hpp"
#include "sim/sim_broker.hpp"
#include "sim/sim_consumer.hpp"
#include "sim/sim_producer.hpp"
#include "support/run_until.hpp"

using namespace std::chrono_literals;
using peermq::Counters;
using peermq::Identity;
using peermq::platform::BrokerNode;
using peermq::platform::ConsumerNode;
using peermq::platform::ProducerNode;
using peermq::service::BrokerService;
using peermq::service::BrokerServiceOptions;
using peermq::service::ConsumerClient;
using peermq::service::ConsumerClientOptions;
using peermq::Endpoint;
using peermq::platform::Loop;
using peermq::platform::NodeOptions;
using peermq::service::ProducerClient;
using peermq::service::ProducerClientOptions;
using peermq::storage::SyncPolicy;
using peermq::platform::Timer;
namespace fs = std::filesystem;
namespace mq = peermq::mq;
using namespace peermq::sim;

namespace {

using peermq::test::run_until;

struct Scratch {
  fs::path root = fs::temp_directory_path() /
                  ("peermq-broker-service-test-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
};

NodeOptions node_options(const fs::path& dir) {
  NodeOptions o;
  o.listen = Endpoint::v4({127, 0, 0, 1}, 0);
  o.discovery_dir = dir / "run";
  return o;
}

// Session timers shrunk 35x from the defaults (35 s idle timeout, 10 s passive keepalive), so
// that a job outlasting the idle timeout takes seconds, not minutes.
}  // namespace

TEST_CASE("a -sync=always broker confirms and delivers only what an fdatasync covered") {
  Scratch s;
  Loop loop;
  Counters counters;
  const Identity broker_id = Identity::generate();
  BrokerServiceOptions bo;
  bo.data_dir = s.root / "data";
  bo.log.sync = SyncPolicy::always;
  NodeOptions bn = node_options(s.root);
  BrokerNode broker_node(loop, counters, broker_id, bn, bo);
  BrokerService& broker = broker_node.service();
  std::string detail;
  REQUIRE_MESSAGE(broker_node.start(&detail), detail);

  // Every confirmed or delivered message has a record of its own that an fdatasync must
  // have covered, so neither count may ever pass the log's synced sequence number (a
  // broker confirming at write time would be caught at once: nothing is synced then).
  int unsynced_confirms = 0;
  int unsynced_deliveries = 0;
  auto all_synced = [&] { return broker.log().synced_seq() >= broker.log().written_seq(); };
  ConsumerClientOptions co;
  NodeOptions cn = node_options(s.root);
  co.broker = broker_id.public_key();
  const Identity consumer_id = Identity::generate();
  ConsumerNode consumer_node(loop, counters, consumer_id, cn, co);
  ConsumerClient& consumer = consumer_node.client();
  int delivered = 0;
  consumer.on_delivery([&](const mq::Deliver& d) {
    ++delivered;
    if (static_cast<std::uint64_t>(delivered) > broker.log().synced_seq()) ++unsynced_deliveries;
    (void)consumer.answer(d.tag, d.payload);
  });
  REQUIRE_MESSAGE(consumer_node.start(&detail), detail);

  ProducerClientOptions po;
  NodeOptions pn = node_options(s.root);
  po.broker = broker_id.public_key();
  po.producer.max_inflight = 64;
  const Identity producer_id = Identity::generate();
  ProducerNode producer_node(loop, counters, producer_id, pn, po);
  ProducerClient& producer = producer_node.client();
  constexpr int kMessages = 300;
  int published = 0;
  int confirmed = 0;
  int answered = 0;
  const std::vector<std::uint8_t> payload(100, 'x');
  producer.on_wake([&] {
    while (published < kMessages) {
      mq::PublishRequest r;
      r.payload = payload;
      if (!producer.publish(r)) break;
      ++published;
    }
  });
  producer.on_event([&](const mq::ProducerEvent& e) {
    if (e.kind == mq::ProducerEvent::Kind::confirmed) {
      ++confirmed;
      if (static_cast<std::uint64_t>(confirmed) > broker.log().synced_seq()) ++unsynced_confirms;
    }
    if (e.kind == mq::ProducerEvent::Kind::answer) ++answered;
  });
  REQUIRE_MESSAGE(producer_node.start(&detail), detail);

  REQUIRE(run_until(
      loop, [&] { return answered == kMessages; }, 30s));
  CHECK(delivered == kMessages);
  CHECK(confirmed == kMessages);
  CHECK(unsynced_confirms == 0);
  CHECK(unsynced_deliveries == 0);
  const auto& stats = broker.log().stats();
  MESSAGE(kMessages << " messages: " << stats.fsyncs << " fdatasyncs, "
                    << stats.records_per_fsync() << " records each");
  CHECK(stats.fsyncs >= 1);
  CHECK(stats.fsyncs < stats.records_written);  // group commit: several records per sync
  // Once idle, what was written is synced too (answers included), within the delay.
  CHECK(run_until(loop, all_synced, 5s));
  producer_node.stop();
  consumer_node.stop();
  broker_node.stop();
}

namespace {

// On the simulator: the real services over simulated hosts, in virtual time.
struct LongJobResult {
  std::uint64_t deliveries = 0;
  std::uint64_t answers = 0;
  std::uint64_t sessions_closed = 0;
};

// Sessions that idle out after 1 s, on every node.
SimNodeOptions short_idle(peermq::Duration client_keepalive) {
  SimNodeOptions o;
  o.host.session.idle_timeout = 1s;
  o.host.session.keepalive_interval = 300ms;
  o.host.session.rekey_timeout = 150ms;
  o.host.channel.keepalive_interval = client_keepalive;
  return o;
}

// One message whose consumer answers it only after `job` (longer than the idle timeout),
// while nothing else is sent either way.
LongJobResult run_long_job(peermq::Duration client_keepalive, peermq::Duration job) {
  SimWorld w(1);
  const MachineId host = w.public_machine();
  QueueChecker checker;
  SimBrokerOptions bo;
  bo.service.broker.visibility_timeout = 600s;  // only a lost session hands it out again
  SimBroker broker(w, w.add_node(host, {}, short_idle({})), bo);
  REQUIRE(broker.start());
  SimConsumerOptions co;
  co.work = job;
  SimConsumer consumer(w, w.add_node(host, {}, short_idle(client_keepalive)), checker,
                       broker.key(), co);
  REQUIRE(consumer.start());
  SimProducer producer(w, w.add_node(host, {}, short_idle(client_keepalive)), checker,
                       broker.key(), [] {
                         SimProducerOptions o;
                         o.count = 1;
                         return o;
                       }());
  REQUIRE(producer.start());
  (void)w.run_until([&] { return producer.answers() > 0 || consumer.processed() > 1; },
                    job + 2s);
  w.run_for(1s);  // a second delivery, had the session been lost, shows by now
  LongJobResult r{consumer.processed(), producer.answers(), 0};
  for (const auto& n : w.nodes()) {
    r.sessions_closed += n->counters().counter_value("transport_sessions_closed_total");
  }
  return r;
}

}  // namespace

TEST_CASE("a consumer busy past the session idle timeout keeps its session and its message") {
  // Clients PING the broker; each PING's ACK answers: no side ever idles out.
  const LongJobResult kept = run_long_job(400ms, 2500ms);
  CHECK(kept.deliveries == 1);
  CHECK(kept.answers == 1);
  CHECK(kept.sessions_closed == 0);
  // The same with the default 15 s keepalive, longer than this test's 1 s idle timeout:
  // sessions close, the broker takes the consumer for gone, and the job runs twice.
  const LongJobResult idle =
      run_long_job(peermq::Duration(peermq::limits::kClientKeepaliveInterval), 2500ms);
  MESSAGE("without a keepalive in time: " << idle.deliveries << " deliveries, " << idle.answers
          << " answers, " << idle.sessions_closed << " sessions closed");
  CHECK(idle.sessions_closed > 0);
  CHECK(idle.deliveries > 1);
}

TEST_CASE("a consumer that stops says bye: its message goes to another consumer at once") {
  SimWorld w(1);
  const MachineId host = w.public_machine();
  QueueChecker checker;
  SimBroker broker(w, w.add_node(host, {}), {});
  REQUIRE(broker.start());
  SimConsumerOptions holds;
  holds.client.consumer.prefetch = 1;
  holds.answers = false;
  SimConsumer leaving(w, w.add_node(host, {}), checker, broker.key(), holds);
  REQUIRE(leaving.start());
  REQUIRE(w.run_until([&] { return leaving.ready(); }, 5s));
  SimProducerOptions one;
  one.count = 1;
  SimProducer producer(w, w.add_node(host, {}), checker, broker.key(), one);
  REQUIRE(producer.start());
  REQUIRE(w.run_until([&] { return leaving.processed() == 1; }, 5s));
  SimConsumerOptions answers;
  answers.client.consumer.prefetch = 1;
  SimConsumer staying(w, w.add_node(host, {}), checker, broker.key(), answers);
  REQUIRE(staying.start());
  REQUIRE(w.run_until([&] { return staying.ready(); }, 5s));
  w.run_for(1s);
  CHECK(staying.processed() == 0);  // the only message is held by `leaving`

  // Without the bye the broker would wait for the visibility timeout (30 s) or the
  // session's idle timeout (35 s) before handing the message to `staying`.
  leaving.stop();
  const peermq::Instant left = w.now();
  REQUIRE(w.run_until([&] { return producer.answers() == 1; }, 30s));
  MESSAGE("answered by the other consumer " << std::chrono::duration<double, std::milli>(w.now() - left).count() << " ms after the bye");
  CHECK(w.now() - left < 1s);
  CHECK(staying.processed() == 1);
  Verdict v;
  checker.judge_complete(v);
  CHECK(v.ok());
}
