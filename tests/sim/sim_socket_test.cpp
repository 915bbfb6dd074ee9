#include "sim/sim_socket.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

namespace {

struct Pair {
  Pair() : random(1), network(scheduler, random) {
    const MachineId m = network.add_public_machine();
    a.emplace(scheduler, network, m, 4);
    b.emplace(scheduler, network, m, 4);
    REQUIRE(a->bind(0));
    REQUIRE(b->bind(0));
    b->on_receive([this](std::span<const std::uint8_t> bytes, const Endpoint& from) {
      received.emplace_back(bytes.begin(), bytes.end());
      CHECK(from == a->local_endpoint());
    });
    b->on_read_done([this] { reads.push_back(received.size()); });
  }
  SimScheduler scheduler;
  SimRandom random;
  SimNetwork network;
  std::optional<SimSocket> a;
  std::optional<SimSocket> b;
  std::vector<std::vector<std::uint8_t>> received;
  std::vector<std::size_t> reads;  // datagrams received when each read ended
};

const std::uint8_t kOne[1] = {1};

}  // namespace

TEST_CASE("sim socket queues up to its limit, then refuses and counts, and flush sends in order") {
  Pair p;
  for (std::uint8_t i = 0; i < 4; ++i) {
    const std::uint8_t byte[1] = {i};
    CHECK(p.a->send(p.b->local_endpoint(), byte));
  }
  CHECK(p.a->queued() == 4);
  CHECK_FALSE(p.a->send(p.b->local_endpoint(), kOne));
  CHECK(p.network.stats().drops_of(DropReason::queue_full) == 1);
  CHECK(p.a->writable());  // it flushes to make room
  CHECK(p.a->queued() == 0);
  p.scheduler.run_for(1s);
  REQUIRE(p.received.size() == 4);
  for (std::uint8_t i = 0; i < 4; ++i) CHECK(p.received[i][0] == i);
}

TEST_CASE("sim socket hands the datagrams of one instant over as one read") {
  Pair p;
  p.a->send(p.b->local_endpoint(), kOne);
  p.a->send(p.b->local_endpoint(), kOne);
  p.a->flush();
  p.scheduler.run_for(1ms);
  p.a->send(p.b->local_endpoint(), kOne);
  p.a->flush();
  p.scheduler.run_for(1s);
  CHECK(p.reads == std::vector<std::size_t>{2, 3});
}

TEST_CASE("sim socket of a node that never answers drops what it sends and what it is sent") {
  Pair p;
  p.b->set_unresponsive(true);
  p.a->send(p.b->local_endpoint(), kOne);
  p.a->flush();
  CHECK(p.b->send(p.a->local_endpoint(), kOne));  // as far as the node can tell, it left
  p.b->flush();
  p.scheduler.run_for(1s);
  CHECK(p.received.empty());
  CHECK(p.network.stats().drops_of(DropReason::unresponsive) == 2);
}

TEST_CASE("sim socket close drops what is queued and nothing arrives afterwards") {
  Pair p;
  p.a->send(p.b->local_endpoint(), kOne);
  p.a->flush();
  p.b->send(p.a->local_endpoint(), kOne);
  p.b->close();
  CHECK_FALSE(p.b->is_open());
  CHECK(p.b->local_endpoint().family() == Endpoint::Family::none);
  CHECK_FALSE(p.b->send(p.a->local_endpoint(), kOne));
  p.scheduler.run_for(1s);
  CHECK(p.received.empty());
  CHECK(p.network.stats().drops_of(DropReason::closed) == 1);
  CHECK(p.network.stats().drops_of(DropReason::no_listener) == 1);
}
