#include "sim/sim_producer.hpp"

#include "service/broker_client.hpp"

namespace peermq::sim {

SimProducer::SimProducer(SimWorld& world, SimNode& node, QueueChecker& checker,
                         const PublicKey& broker, SimProducerOptions options)
    : world_(world),
      node_(node),
      checker_(checker),
      options_(std::move(options)),
      random_(world.random().derive("producer-" + node.name())) {
  options_.client.broker = broker;
  node_.options().host = service::client_host_options(node_.options().host);
  node_.on_turn([this] {
    if (executor_) executor_->turn();
  });
}

Result<void> SimProducer::start(std::string* detail) {
  if (client_) return {};
  if (node_.running()) node_.stop();  // the host options changed: a new run
  if (auto s = node_.start(detail); !s) return s;
  executor_.emplace(world_.scheduler(), random_);
  client_.emplace(*executor_, node_.host(), options_.client);
  client_->on_wake([this] { pump(); });
  client_->on_event([this](const mq::ProducerEvent& e) {
    using Kind = mq::ProducerEvent::Kind;
    if (e.kind == Kind::confirmed) checker_.on_confirmed(node_.key(), e.id);
    if (e.kind == Kind::answer) {
      ++answers_;
      checker_.on_answer(node_.key(), e.id, e.status == mq::AnswerStatus::answered, e.payload);
    }
  });
  return client_->start(detail);
}

void SimProducer::pump() {
  if (!client_) return;
  while (published_ < options_.count) {
    std::vector<std::uint8_t> payload(1 + random_.below(options_.payload_max));
    for (auto& b : payload) b = static_cast<std::uint8_t>(random_.next());
    mq::PublishRequest r;
    r.payload = payload;
    auto id = client_->publish(r);
    if (!id) return;  // the window is full: on_wake comes when it has room
    checker_.on_published(node_.key(), *id, payload);
    ++published_;
  }
}

void SimProducer::stop() noexcept {
  if (client_) client_->stop();
  client_.reset();
  executor_.reset();
  node_.stop();
}

void SimProducer::crash() noexcept {
  if (!client_ && !node_.running()) return;
  node_.set_unresponsive(true);
  client_.reset();
  executor_.reset();
  node_.crash();
  node_.set_unresponsive(false);
}

}  // namespace peermq::sim
