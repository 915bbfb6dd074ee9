#include "sim/sim_broker.hpp"

namespace peermq::sim {

SimBroker::SimBroker(SimWorld& world, SimNode& node, SimBrokerOptions options)
    : world_(world), node_(node), options_(std::move(options)), disk_(options_.disk) {
  if (options_.service.data_dir.empty()) options_.service.data_dir = "/broker";
  node_.on_turn([this] {
    if (executor_) executor_->turn();
  });
}

Result<void> SimBroker::start(std::string* detail) {
  if (service_) return {};
  if (!node_.running()) {
    if (auto s = node_.start(detail); !s) return s;
  }
  ++runs_;
  executor_.emplace(world_.scheduler(),
                    world_.random().derive("broker-executor-" + std::to_string(runs_)),
                    options_.executor);
  service_.emplace(*executor_, node_.host(), disk_, node_.counters(), options_.service);
  service_->on_failure([this](const std::string&) { failed_ = true; });
  if (auto s = service_->start(detail); !s) {
    service_.reset();
    executor_.reset();
    return s;
  }
  return {};
}

void SimBroker::stop() noexcept {
  if (service_) service_->stop();
  service_.reset();
  executor_.reset();
  node_.stop();
}

void SimBroker::crash() noexcept {
  if (!service_ && !node_.running()) return;
  // The power goes first: what the dying process still tries to write or send is lost.
  disk_.crash();
  node_.set_unresponsive(true);
  service_.reset();
  executor_.reset();
  node_.crash();
  node_.set_unresponsive(false);
}

void SimBroker::kill() noexcept {
  node_.set_unresponsive(true);
  service_.reset();
  executor_.reset();
  node_.crash();
  node_.set_unresponsive(false);
}

Result<void> SimBroker::restart(std::string* detail) {
  crash();
  failed_ = false;
  return start(detail);
}

}  // namespace peermq::sim
