#include "runtime/service_node.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "service/consumer_client.hpp"
#include "service/producer_client.hpp"
#include "runtime/timer.hpp"
#include "support/run_until.hpp"

using namespace std::chrono_literals;
using peermq::Counters;
using peermq::Identity;
using peermq::runtime::BrokerNode;
using peermq::runtime::ConsumerNode;
using peermq::runtime::ProducerNode;
using peermq::service::BrokerService;
using peermq::service::BrokerServiceOptions;
using peermq::service::ConsumerClient;
using peermq::service::ConsumerClientOptions;
using peermq::Endpoint;
using peermq::runtime::Loop;
using peermq::runtime::NodeOptions;
using peermq::service::ProducerClient;
using peermq::service::ProducerClientOptions;
using peermq::storage::SyncPolicy;
using peermq::runtime::Timer;
namespace fs = std::filesystem;
namespace mq = peermq::mq;

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
NodeOptions short_idle_options(const fs::path& dir, peermq::Duration client_keepalive) {
  NodeOptions o = node_options(dir);
  o.host.session.idle_timeout = 1s;
  o.host.session.keepalive_interval = 300ms;
  o.host.session.rekey_timeout = 150ms;
  o.host.channel.keepalive_interval = client_keepalive;
  return o;
}

// A producer that publishes one small message as soon as it can and counts the answers.
struct OneMessageProducer {
  OneMessageProducer(Loop& loop, Counters& counters, NodeOptions net,
                     const peermq::PublicKey& broker)
      : node(loop, counters, identity, std::move(net), options(broker)) {
    client.on_wake([this] {
      if (published) return;
      mq::PublishRequest req;
      req.payload = payload;
      published = static_cast<bool>(client.publish(req));
    });
    client.on_event([this](const mq::ProducerEvent& e) {
      if (e.kind == mq::ProducerEvent::Kind::answer) ++answers;
    });
  }
  static ProducerClientOptions options(const peermq::PublicKey& broker) {
    ProducerClientOptions o;
    o.broker = broker;
    return o;
  }

  const std::vector<std::uint8_t> payload{'j', 'o', 'b'};
  bool published = false;
  int answers = 0;
  const Identity identity = Identity::generate();
  ProducerNode node;
  ProducerClient& client = node.client();
};

struct LongJobResult {
  int deliveries = 0;
  int answers = 0;
  std::uint64_t sessions_closed = 0;
};

// One message whose consumer answers it only after `job` (longer than the idle timeout),
// while nothing else is sent either way.
LongJobResult run_long_job(peermq::Duration client_keepalive, peermq::Duration job) {
  Scratch s;
  Loop loop;
  Counters counters;
  const Identity broker_id = Identity::generate();
  BrokerServiceOptions bo;
  bo.data_dir = s.root / "data";
  NodeOptions bn = short_idle_options(s.root, {});
  bo.broker.visibility_timeout = 600s;  // only a lost session could hand the message out again
  BrokerNode broker_node(loop, counters, broker_id, bn, bo);
  std::string detail;
  REQUIRE_MESSAGE(broker_node.start(&detail), detail);

  LongJobResult r;
  ConsumerClientOptions co;
  NodeOptions cn = short_idle_options(s.root, client_keepalive);
  co.broker = broker_id.public_key();
  const Identity consumer_id = Identity::generate();
  ConsumerNode consumer_node(loop, counters, consumer_id, cn, co);
  ConsumerClient& consumer = consumer_node.client();
  Timer job_timer(loop);
  consumer.on_delivery([&](const mq::Deliver& d) {
    ++r.deliveries;
    job_timer.start(job, [&consumer, tag = d.tag] {
      (void)consumer.answer(tag, std::vector<std::uint8_t>{'o', 'k'});
      consumer.flush();
    });
  });
  REQUIRE_MESSAGE(consumer_node.start(&detail), detail);

  OneMessageProducer producer(loop, counters, short_idle_options(s.root, client_keepalive),
                              broker_id.public_key());
  REQUIRE_MESSAGE(producer.node.start(&detail), detail);
  (void)run_until(loop, [&] { return producer.answers > 0 || r.deliveries > 1; }, job + 2s);
  (void)run_until(loop, [] { return false; }, 300ms);  // a late second delivery shows too
  r.answers = producer.answers;
  r.sessions_closed = counters.counter_value("transport_sessions_closed_total");
  producer.node.stop();
  consumer_node.stop();
  broker_node.stop();
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
      run_long_job(peermq::Duration(peermq::limits::client_keepalive_interval), 2500ms);
  MESSAGE("without a keepalive in time: " << idle.deliveries << " deliveries, " << idle.answers
          << " answers, " << idle.sessions_closed << " sessions closed");
  CHECK(idle.sessions_closed > 0);
  CHECK(idle.deliveries > 1);
}

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

TEST_CASE("a consumer that stops says bye: its message goes to another consumer at once") {
  Scratch s;
  Loop loop;
  Counters counters;
  const Identity broker_id = Identity::generate();
  BrokerServiceOptions bo;
  bo.data_dir = s.root / "data";
  NodeOptions bn = node_options(s.root);
  BrokerNode broker_node(loop, counters, broker_id, bn, bo);
  std::string detail;
  REQUIRE_MESSAGE(broker_node.start(&detail), detail);

  ConsumerClientOptions co;
  NodeOptions cn = node_options(s.root);
  co.broker = broker_id.public_key();
  co.consumer.prefetch = 1;
  const Identity leaving_id = Identity::generate();
  ConsumerNode leaving_node(loop, counters, leaving_id, cn, co);
  ConsumerClient& leaving = leaving_node.client();
  const Identity staying_id = Identity::generate();
  ConsumerNode staying_node(loop, counters, staying_id, cn, co);
  ConsumerClient& staying = staying_node.client();
  int held = 0, answered_by_staying = 0;
  leaving.on_delivery([&](const mq::Deliver&) { ++held; });  // never answers
  staying.on_delivery([&](const mq::Deliver& d) {
    ++answered_by_staying;
    (void)staying.answer(d.tag, d.payload);
  });
  REQUIRE_MESSAGE(leaving_node.start(&detail), detail);
  REQUIRE(run_until(loop, [&] { return leaving.ready(); }, 5s));

  OneMessageProducer producer(loop, counters, node_options(s.root), broker_id.public_key());
  REQUIRE_MESSAGE(producer.node.start(&detail), detail);
  REQUIRE(run_until(loop, [&] { return held == 1; }, 5s));
  REQUIRE_MESSAGE(staying_node.start(&detail), detail);
  REQUIRE(run_until(loop, [&] { return staying.ready(); }, 5s));
  CHECK(answered_by_staying == 0);  // the only message is held by `leaving`

  // Without the bye the broker would wait for the visibility timeout (30 s) or the
  // session's idle timeout (35 s) before handing the message to `staying`.
  leaving_node.stop();
  CHECK(run_until(loop, [&] { return producer.answers == 1; }, 3s));
  CHECK(answered_by_staying == 1);
  producer.node.stop();
  staying_node.stop();
  broker_node.stop();
}
