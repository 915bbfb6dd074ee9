// SimConsumer: the real service::ConsumerClient in a simulated process, answering each
// message with QueueChecker::expected_answer(payload) after a work time drawn from
// 0 .. SimConsumerOptions::work_max, and telling the checker what it processed.
//
//   crash()    the process dies mid-work: what it held is redelivered by the broker.
//   restart()  a new process with the same key.
// Single-threaded. The world and the checker outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "service/consumer_client.hpp"
#include "sim/queue_checker.hpp"
#include "sim/sim_executor.hpp"
#include "sim/sim_node.hpp"
#include "sim/sim_world.hpp"

namespace peermq::sim {

struct SimConsumerOptions {
  service::ConsumerClientOptions client{};  // .broker is set from the broker given
  Duration work_max = std::chrono::milliseconds(5);
  std::optional<Duration> work;  // a fixed work time instead
  bool answers = true;           // false: holds every message and never answers
};

class SimConsumer {
 public:
  SimConsumer(SimWorld& world, SimNode& node, QueueChecker& checker, const PublicKey& broker,
              SimConsumerOptions options = {});
  ~SimConsumer() { crash(); }
  SimConsumer(const SimConsumer&) = delete;
  SimConsumer& operator=(const SimConsumer&) = delete;

  Result<void> start(std::string* detail = nullptr);
  void stop() noexcept;  // says bye
  void crash() noexcept;
  Result<void> restart(std::string* detail = nullptr);

  bool running() const noexcept { return client_.has_value(); }
  bool ready() const noexcept { return client_ && client_->ready(); }
  SimNode& node() noexcept { return node_; }
  std::uint64_t processed() const noexcept { return processed_; }
  service::ConsumerClient& client() { return *client_; }
  std::size_t working() const noexcept { return jobs_.size(); }

 private:
  void on_delivery(const mq::Deliver& d);
  void finish(std::uint64_t tag);

  SimWorld& world_;
  SimNode& node_;
  QueueChecker& checker_;
  SimConsumerOptions options_;
  SimPrng random_;
  std::optional<SimExecutor> executor_;
  std::optional<service::ConsumerClient> client_;
  struct Job {
    std::vector<std::uint8_t> answer;
    std::unique_ptr<service::Alarm> timer;
  };
  std::map<std::uint64_t, Job> jobs_;  // by delivery tag
  std::uint64_t processed_ = 0;
};

}  // namespace peermq::sim
