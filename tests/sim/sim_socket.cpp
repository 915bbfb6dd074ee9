#include "sim/sim_socket.hpp"

namespace peermq::sim {

SimSocket::SimSocket(SimScheduler& scheduler, SimNetwork& network, MachineId machine,
                     std::size_t queue_limit)
    : scheduler_(scheduler), network_(network), machine_(machine), queue_limit_(queue_limit) {}

bool SimSocket::bind(std::uint16_t port) {
  if (local_) return false;
  local_ = network_.bind(machine_, port, [this](std::span<const std::uint8_t> bytes,
                                                const Endpoint& from) { return arrive(bytes, from); });
  return local_.has_value();
}

void SimSocket::close() noexcept {
  if (!local_) return;
  for (std::size_t i = 0; i < queue_.size(); ++i) network_.refuse(DropReason::closed);
  queue_.clear();
  inbox_.clear();
  network_.unbind(*local_);
  local_.reset();
  if (read_event_ != 0) scheduler_.cancel(read_event_);
  read_event_ = 0;
}

bool SimSocket::send(const Endpoint& to, std::span<const std::uint8_t> bytes) {
  if (!local_) return false;
  if (unresponsive_) {
    network_.refuse(DropReason::unresponsive);
    return true;  // it left, as far as the node can tell
  }
  if (queue_.size() >= queue_limit_) {
    network_.refuse(DropReason::queue_full);
    return false;
  }
  queue_.push_back(Datagram{to, {bytes.begin(), bytes.end()}});
  return true;
}

bool SimSocket::writable() {
  if (!local_) return false;
  if (queue_.size() >= queue_limit_) flush();
  return queue_.size() < queue_limit_;
}

void SimSocket::flush() {
  if (!local_) return;
  std::vector<Datagram> out = std::move(queue_);
  queue_.clear();
  for (const Datagram& d : out) network_.send(*local_, d.peer, d.bytes);
}

std::vector<Endpoint> SimSocket::local_candidates() const {
  if (!local_) return {};
  return {*local_};
}

std::optional<DropReason> SimSocket::arrive(std::span<const std::uint8_t> bytes,
                                            const Endpoint& from) {
  if (unresponsive_) return DropReason::unresponsive;
  inbox_.push_back(Datagram{from, {bytes.begin(), bytes.end()}});
  // Everything arriving at this instant is one read, handled after the arrivals.
  if (read_event_ == 0) read_event_ = scheduler_.at(scheduler_.now(), [this] { read(); });
  return std::nullopt;
}

void SimSocket::read() {
  read_event_ = 0;
  std::vector<Datagram> batch = std::move(inbox_);
  inbox_.clear();
  for (const Datagram& d : batch) {
    if (!local_) return;  // closed by a callback
    if (on_receive_) on_receive_(d.bytes, d.peer);
  }
  if (local_ && on_read_done_) on_read_done_();
}

}  // namespace peermq::sim
