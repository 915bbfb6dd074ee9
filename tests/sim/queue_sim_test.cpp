// The whole system on the simulator: the real broker, consumer, producer and relay code
// (services, hosts, sessions with real crypto, channels, the segment log on a simulated
// disk) over simulated links and NATs, each scenario for many seeds (sim_seeds.hpp). The
// QueueChecker judges every run from what producers and consumers saw.
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <vector>

#include "sim/queue_checker.hpp"
#include "sim/sim_broker.hpp"
#include "sim/sim_consumer.hpp"
#include "sim/sim_producer.hpp"
#include "sim/sim_seeds.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

namespace {

// A relay, a broker, consumers and producers, each where the scenario puts it.
struct Queue {
  explicit Queue(SimWorld& w) : world(w) {}
  SimWorld& world;
  QueueChecker checker;
  std::unique_ptr<SimBroker> broker;
  std::vector<std::unique_ptr<SimConsumer>> consumers;
  std::vector<std::unique_ptr<SimProducer>> producers;

  SimBroker& add_broker(SimNode& node, SimBrokerOptions options = {}) {
    broker = std::make_unique<SimBroker>(world, node, std::move(options));
    std::string detail;
    REQUIRE_MESSAGE(broker->start(&detail), detail);
    return *broker;
  }
  SimConsumer& add_consumer(SimNode& node, SimConsumerOptions options = {}) {
    consumers.push_back(
        std::make_unique<SimConsumer>(world, node, checker, broker->key(), std::move(options)));
    std::string detail;
    REQUIRE_MESSAGE(consumers.back()->start(&detail), detail);
    return *consumers.back();
  }
  SimProducer& add_producer(SimNode& node, SimProducerOptions options = {}) {
    producers.push_back(
        std::make_unique<SimProducer>(world, node, checker, broker->key(), std::move(options)));
    std::string detail;
    REQUIRE_MESSAGE(producers.back()->start(&detail), detail);
    return *producers.back();
  }
  bool producers_done() const {
    for (const auto& p : producers) {
      if (!p->done()) return false;
    }
    return true;
  }
  // Runs until every producer has all its answers; fails the verdict if that does not
  // happen within `limit` of virtual time.
  void settle(Verdict& v, Duration limit) {
    const bool done = world.run_until([&] { return producers_done(); }, limit);
    v.expect(done, "not every producer got all its answers within the time limit: " +
                       checker.summary());
    checker.judge_complete(v);
  }
};

SimProducerOptions producer_options(std::uint64_t count, std::uint32_t inflight) {
  SimProducerOptions o;
  o.count = count;
  o.client.producer.max_inflight = inflight;
  return o;
}

}  // namespace

TEST_CASE("queue: behind four kinds of NAT with 10-30% loss every message is answered once") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimPrng draw = w.random().derive("scenario");
    auto lossy = [&](NatType type) {
      NatOptions n;
      n.type = type;
      n.uplink.loss_percent = 10 + static_cast<unsigned>(draw.below(21));
      n.uplink.jitter = 2ms;
      return w.nat(n);
    };
    SimNode& relay = w.add_relay(w.public_machine());
    Queue q(w);
    q.add_broker(w.add_node(w.machine_behind(lossy(NatType::full_cone)), {&relay}));
    q.add_consumer(w.add_node(w.machine_behind(lossy(NatType::port_restricted)), {&relay}));
    q.add_consumer(w.add_node(w.machine_behind(lossy(NatType::symmetric)), {&relay}));
    q.add_producer(w.add_node(w.machine_behind(lossy(NatType::address_restricted)), {&relay}),
                   producer_options(60, 8));
    q.add_producer(w.add_node(w.machine_behind(lossy(NatType::port_restricted)), {&relay}),
                   producer_options(60, 8));
    q.settle(v, 20min);
  });
}

TEST_CASE("queue: a broker that loses power at random moments loses and repeats nothing confirmed") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimPrng draw = w.random().derive("scenario");
    SimNode& relay = w.add_relay(w.public_machine());
    Queue q(w);
    SimBrokerOptions bo;
    bo.service.log.sync = storage::SyncPolicy::always;
    bo.disk.seed = w.seed();
    bo.disk.crash_keeps_write = static_cast<unsigned>(draw.below(50));
    bo.disk.crash_tears_write = 50;
    bo.disk.crash_keeps_directory_change = 30;
    bo.executor.sync_latency_max = 5ms;  // a slow disk: a wide window between write and sync
    SimBroker& broker = q.add_broker(w.add_node(w.machine_behind(w.nat()), {&relay}), bo);
    for (int i = 0; i < 2; ++i) q.add_consumer(w.add_node(w.machine_behind(w.nat()), {&relay}));
    for (int i = 0; i < 2; ++i) {
      q.add_producer(w.add_node(w.machine_behind(w.nat()), {&relay}), producer_options(200, 32));
    }
    // Each crash lands while messages flow: after a random number more were confirmed,
    // at a random moment within the next 40 ms (a few network and disk round trips), or
    // while the log holds written, unsynced records.
    const int crashes = 5 + static_cast<int>(draw.below(8));
    for (int i = 0; i < crashes && !q.producers_done(); ++i) {
      const std::uint64_t target = q.checker.confirmed() + 1 + draw.below(40);
      w.run_until([&] { return q.checker.confirmed() >= target || q.producers_done(); }, 60s);
      if (draw.chance(50)) {
        w.run_for(draw.up_to(40ms));
      } else {
        // Or while records are written and not yet synced: the moment a broker that
        // confirmed too early would lose what it confirmed.
        const auto& log = broker.service().log();
        w.run_until([&] { return log.written_seq() > log.synced_seq(); }, 200ms);
        w.run_for(draw.up_to(1ms));
      }
      std::string detail;
      v.expect(broker.restart(&detail).ok(), "the broker restarts after a crash: " + detail);
    }
    q.settle(v, 20min);
    v.expect(broker.runs() >= 2, "the broker crashed at least once");
  });
}

TEST_CASE("queue: a killed broker under every sync policy loses and repeats nothing confirmed") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimPrng draw = w.random().derive("scenario");
    const storage::SyncPolicy policy = std::array{
        storage::SyncPolicy::always, storage::SyncPolicy::batch,
        storage::SyncPolicy::none}[draw.below(3)];
    Queue q(w);
    // One machine, no relay: local discovery, as on a developer's laptop.
    const MachineId host = w.public_machine();
    SimBrokerOptions bo;
    bo.service.log.sync = policy;
    SimBroker& broker = q.add_broker(w.add_node(host, {}), bo);
    q.add_consumer(w.add_node(host, {}));
    q.add_producer(w.add_node(host, {}), producer_options(2000, 64));
    const int kills = 3 + static_cast<int>(draw.below(6));
    for (int i = 0; i < kills && !q.producers_done(); ++i) {
      const std::uint64_t target = q.checker.confirmed() + 1 + draw.below(200);
      w.run_until([&] { return q.checker.confirmed() >= target || q.producers_done(); }, 60s);
      w.run_for(draw.up_to(20ms));
      broker.kill();  // kill -9: the process dies, the operating system keeps what it wrote
      std::string detail;
      v.expect(broker.start(&detail).ok(), "the broker restarts after kill -9: " + detail);
    }
    q.settle(v, 10min);
  });
}

TEST_CASE("queue: consumers that crash mid-message and producers that leave and return") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimPrng draw = w.random().derive("scenario");
    SimNode& relay = w.add_relay(w.public_machine());
    Queue q(w);
    // Each crash of a consumer holding a message counts as one of its deliveries (as in
    // RabbitMQ's delivery limit): the default of 5 would dead-letter a message unlucky
    // enough to be held at most of the six crashes, which is the limit working, not a loss.
    SimBrokerOptions patient;
    patient.service.broker.max_deliveries = 255;
    q.add_broker(w.add_node(w.public_machine(), {&relay}), patient);
    SimConsumerOptions slow;
    slow.work_max = 200ms;  // long enough to be caught mid-message
    for (int i = 0; i < 3; ++i) {
      q.add_consumer(w.add_node(w.machine_behind(w.nat()), {&relay}), slow);
    }
    SimProducer& leaving = q.add_producer(w.add_node(w.machine_behind(w.nat()), {&relay}),
                                          producer_options(80, 8));
    SimProducer& staying = q.add_producer(w.add_node(w.machine_behind(w.nat()), {&relay}),
                                          producer_options(80, 8));
    (void)staying;
    for (int round = 0; round < 6; ++round) {
      w.run_for(draw.up_to(800ms) + 100ms);
      SimConsumer& victim = *q.consumers[draw.below(q.consumers.size())];
      std::string detail;
      v.expect(victim.restart(&detail).ok(), "a consumer restarts after a crash: " + detail);
      if (round == 2) leaving.stop();  // away while its answers come in
      if (round == 4) v.expect(leaving.start(&detail).ok(), "the producer returns: " + detail);
    }
    // Messages the leaving producer had not seen confirmed were given up by its first run.
    q.settle(v, 20min);
  });
}
