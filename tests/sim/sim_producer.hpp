// SimProducer: the real service::ProducerClient in a simulated process, publishing
// `count` messages (seeded payloads of 1..payload_max bytes) within its in-flight window,
// and telling the checker what it published, saw confirmed and got answered.
//
//   stop() / start()   a clean exit and a return with the same key: the broker keeps the
//                      answers meanwhile and hands them to the returning run (which
//                      publishes nothing of its own until the earlier ones are answered:
//                      the scenario decides with publish_more()).
// Single-threaded. The world and the checker outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "service/producer_client.hpp"
#include "sim/queue_checker.hpp"
#include "sim/sim_executor.hpp"
#include "sim/sim_node.hpp"
#include "sim/sim_world.hpp"

namespace peermq::sim {

struct SimProducerOptions {
  service::ProducerClientOptions client{};  // .broker is set from the broker given
  std::uint64_t count = 100;
  std::size_t payload_max = 200;
};

class SimProducer {
 public:
  SimProducer(SimWorld& world, SimNode& node, QueueChecker& checker, const PublicKey& broker,
              SimProducerOptions options = {});
  ~SimProducer() { crash(); }
  SimProducer(const SimProducer&) = delete;
  SimProducer& operator=(const SimProducer&) = delete;

  Result<void> start(std::string* detail = nullptr);
  void stop() noexcept;  // says bye
  void crash() noexcept;
  // Raises the number of messages to publish by `more`.
  void publish_more(std::uint64_t more) {
    options_.count += more;
    pump();
  }

  bool running() const noexcept { return client_.has_value(); }
  SimNode& node() noexcept { return node_; }
  std::uint64_t published() const noexcept { return published_; }
  std::uint64_t answers() const noexcept { return answers_; }
  bool done() const noexcept { return published_ == options_.count && answers_ == published_; }

 private:
  void pump();

  SimWorld& world_;
  SimNode& node_;
  QueueChecker& checker_;
  SimProducerOptions options_;
  SimPrng random_;
  std::optional<SimExecutor> executor_;
  std::optional<service::ProducerClient> client_;
  std::uint64_t published_ = 0;
  std::uint64_t answers_ = 0;
};

}  // namespace peermq::sim
