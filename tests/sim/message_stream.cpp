#include "sim/message_stream.hpp"

#include <stdexcept>

#include "channel/channel_error.hpp"

namespace peermq::sim {

namespace {
// How soon a refused message is offered again when no on_writable will come.
constexpr Duration kRetry = std::chrono::milliseconds(100);
}  // namespace

MessageStream::MessageStream(SimScheduler& scheduler, DeliveryChecker& checker, SimPrng prng,
                             SimNode& from, SimNode& to, MessageStreamOptions options,
                             std::string label)
    : scheduler_(scheduler),
      checker_(checker),
      prng_(prng),
      from_(from),
      to_(to),
      options_(options),
      id_(checker.open(from.key(), to.key(), std::move(label))) {
  if (options_.min_size < DeliveryChecker::kHeaderSize || options_.max_size < options_.min_size) {
    throw std::invalid_argument("MessageStream: sizes must hold the checker's header");
  }
  from_.on_writable([this](const PublicKey& peer) {
    if (peer != to_.key() || !running_ || !blocked_) return;
    blocked_ = false;
    schedule(Duration::zero());
  });
}

void MessageStream::start() {
  running_ = true;
  schedule(Duration::zero());
}

void MessageStream::stop() {
  running_ = false;
  if (tick_ != 0) scheduler_.cancel(tick_);
  tick_ = 0;
}

void MessageStream::schedule(Duration after) {
  if (tick_ != 0) scheduler_.cancel(tick_);
  tick_ = scheduler_.after(after, [this] { tick(); });
}

void MessageStream::tick() {
  tick_ = 0;
  if (!running_ || all_sent()) return;
  if (!from_.running()) {
    schedule(std::max(options_.interval, kRetry));
    return;
  }
  if (dialed_run_ != from_.runs()) {
    // A new run of the sender knows nobody: dial (again). Errors show as refusals below.
    (void)from_.host().dial(to_.key());
    dialed_run_ = from_.runs();
  }
  const bool refused = offer();
  if (all_sent()) return;
  if (options_.interval > Duration::zero()) {
    schedule(options_.interval);
  } else if (!blocked_) {
    schedule(refused ? kRetry : Duration::zero());
  }
}

bool MessageStream::offer() {
  const std::uint64_t burst = options_.interval > Duration::zero() ? 1 : options_.count;
  for (std::uint64_t i = 0; i < burst && !all_sent(); ++i) {
    if (!pending_) {
      const std::size_t size =
          options_.min_size +
          static_cast<std::size_t>(prng_.below(options_.max_size - options_.min_size + 1));
      pending_ = checker_.message(id_, next_, size);
    }
    auto sent = from_.host().send(to_.key(), *pending_);
    if (sent) {
      checker_.on_sent(id_, next_);
      ++next_;
      pending_.reset();
      continue;
    }
    ++refusals_;
    if (sent.error() == channel::ChannelError::would_block) {
      blocked_ = true;
    } else if (sent.error() == channel::ChannelError::message_too_large) {
      throw std::logic_error("MessageStream: message larger than the channel takes");
    } else if (sent.error() == overlay::HostError::unknown_peer) {
      dialed_run_ = 0;
    }
    return true;
  }
  return false;
}

}  // namespace peermq::sim
