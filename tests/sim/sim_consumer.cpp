#include "sim/sim_consumer.hpp"

#include "service/broker_client.hpp"

namespace peermq::sim {

SimConsumer::SimConsumer(SimWorld& world, SimNode& node, QueueChecker& checker,
                         const PublicKey& broker, SimConsumerOptions options)
    : world_(world),
      node_(node),
      checker_(checker),
      options_(std::move(options)),
      random_(world.random().derive("consumer-" + node.name())) {
  options_.client.broker = broker;
  node_.options().host = service::client_host_options(node_.options().host);
  node_.on_turn([this] {
    if (executor_) executor_->turn();
  });
}

Result<void> SimConsumer::start(std::string* detail) {
  if (client_) return {};
  if (node_.running()) node_.stop();  // the host options changed: a new run
  if (auto s = node_.start(detail); !s) return s;
  executor_.emplace(world_.scheduler(), random_);
  client_.emplace(node_.host(), options_.client);
  client_->on_delivery([this](const mq::Deliver& d) { on_delivery(d); });
  return client_->start(detail);
}

void SimConsumer::on_delivery(const mq::Deliver& d) {
  checker_.on_processed(d.producer, d.message_id);
  ++processed_;
  if (!options_.answers) return;
  Job& job = jobs_[d.tag];
  job.answer = QueueChecker::expected_answer(d.payload);
  job.timer = executor_->make_alarm();
  const Duration work = options_.work ? *options_.work : random_.up_to(options_.work_max);
  job.timer->start_at(world_.now() + work, [this, tag = d.tag] { finish(tag); });
}

void SimConsumer::finish(std::uint64_t tag) {
  auto it = jobs_.find(tag);
  if (it == jobs_.end()) return;
  const std::vector<std::uint8_t> answer = std::move(it->second.answer);
  jobs_.erase(it);  // its alarm is the one calling: the scheduler holds the callback, not it
  // A delivery from before a reconnect is no longer ours: the broker gives it out again.
  if (client_->holds(tag)) (void)client_->answer(tag, answer);
  client_->flush();
}

void SimConsumer::stop() noexcept {
  jobs_.clear();
  if (client_) client_->stop();
  client_.reset();
  executor_.reset();
  node_.stop();
}

void SimConsumer::crash() noexcept {
  if (!client_ && !node_.running()) return;
  node_.set_unresponsive(true);
  jobs_.clear();
  client_.reset();
  executor_.reset();
  node_.crash();
  node_.set_unresponsive(false);
}

Result<void> SimConsumer::restart(std::string* detail) {
  crash();
  return start(detail);
}

}  // namespace peermq::sim
