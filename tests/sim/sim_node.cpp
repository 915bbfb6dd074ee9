#include "sim/sim_node.hpp"

#include <stdexcept>

#include "sim/sim_log.hpp"

namespace peermq::sim {

SimNode::SimNode(SimScheduler& scheduler, SimNetwork& network, MachineId machine,
                 overlay::PeerDirectory* directory, Identity identity, SimNodeOptions options,
                 std::string name)
    : scheduler_(scheduler),
      machine_(machine),
      directory_(directory),
      identity_(std::move(identity)),
      options_(std::move(options)),
      name_(std::move(name)),
      socket_(scheduler, network, machine, options_.send_queue) {
  socket_.on_receive([this](std::span<const std::uint8_t> bytes, const Endpoint& from) {
    SimLog::Scope scope(name_);
    if (host_) host_->on_datagram(bytes, from, scheduler_.now());
  });
  socket_.on_read_done([this] {
    if (!host_) return;
    SimLog::Scope scope(name_);
    host_->on_batch_end(scheduler_.now());
    socket_.flush();
    arm();
    after_turn();
  });
}

Result<void> SimNode::start(std::string* detail) {
  if (host_) return {};
  if (!socket_.bind(options_.port)) {
    if (detail != nullptr) {
      *detail = name_ + ": cannot bind port " + std::to_string(options_.port);
    }
    return overlay::HostError::not_open;
  }
  SimLog::Scope scope(name_);
  host_.emplace(identity_, socket_, scheduler_, directory_, counters_, options_.host);
  ++runs_;
  wire_callbacks();
  auto started = host_->start(detail);
  socket_.flush();
  arm();
  return started;
}

void SimNode::stop() noexcept {
  if (host_) host_->stop();
  crash();
}

void SimNode::crash() noexcept {
  if (timer_ != 0) scheduler_.cancel(timer_);
  timer_ = 0;
  armed_at_ = Instant::max();
  host_.reset();
  socket_.close();
}

Result<void> SimNode::restart(std::string* detail) {
  crash();
  return start(detail);
}

overlay::Host& SimNode::host() {
  if (!host_) throw std::logic_error(name_ + " is not running");
  return *host_;
}

const overlay::Host& SimNode::host() const {
  if (!host_) throw std::logic_error(name_ + " is not running");
  return *host_;
}

overlay::RelaySpec SimNode::relay_spec(bool with_key) const {
  overlay::RelaySpec spec;
  if (with_key) spec.key = key();
  spec.endpoint = endpoint();
  spec.text = name_ + "@" + spec.endpoint.to_string();
  return spec;
}

void SimNode::wire_callbacks() {
  overlay::Host& h = *host_;
  h.on_wake([this] { arm(); });
  h.on_message([this](const PublicKey& peer, std::span<const std::uint8_t> m) {
    for (std::size_t i = 0; i < on_message_.size(); ++i) on_message_[i](peer, m);
  });
  h.on_writable([this](const PublicKey& peer) {
    for (std::size_t i = 0; i < on_writable_.size(); ++i) on_writable_[i](peer);
  });
  h.on_peer_reset([this](const PublicKey& peer) {
    for (std::size_t i = 0; i < on_peer_reset_.size(); ++i) on_peer_reset_[i](peer);
  });
  h.on_peer_closed([this](const PublicKey& peer) {
    for (std::size_t i = 0; i < on_peer_closed_.size(); ++i) on_peer_closed_[i](peer);
  });
  h.on_path_change([this](const PublicKey& peer, const overlay::PathEvent& e) {
    path_log_.push_back(PathRecord{scheduler_.now(), peer, e});
  });
  h.on_arrival([this](const PublicKey& peer, const overlay::Arrival& how) {
    ArrivalRecord& r = arrivals_[peer];
    if (how.relayed) {
      ++r.relayed;
      r.last_relayed = scheduler_.now();
    } else {
      ++r.direct;
      r.last_direct = scheduler_.now();
    }
  });
}

ArrivalRecord SimNode::arrivals_from(const PublicKey& peer) const {
  auto it = arrivals_.find(peer);
  return it == arrivals_.end() ? ArrivalRecord{} : it->second;
}

// As platform::Node::arm(): one timer, moved only when the host's deadline moves.
void SimNode::arm() {
  if (!host_) return;
  const Instant next = host_->next_deadline();
  if (next == armed_at_) return;
  if (timer_ != 0) scheduler_.cancel(timer_);
  timer_ = 0;
  armed_at_ = next;
  if (next == Instant::max()) return;
  timer_ = scheduler_.at(next, [this] { on_timer(); });
}

void SimNode::on_timer() {
  timer_ = 0;
  armed_at_ = Instant::max();
  if (!host_) return;
  SimLog::Scope scope(name_);
  host_->on_timeout(scheduler_.now());
  socket_.flush();
  arm();
  after_turn();
}

void SimNode::after_turn() {
  for (const auto& f : on_turn_) f();
}

}  // namespace peermq::sim
