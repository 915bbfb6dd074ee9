#include "channel/receive_buffer.hpp"

#include <algorithm>
#include <cstring>

#include "wire/limits.hpp"

namespace peermq::channel {

ReceiveBuffer::ReceiveBuffer(std::uint64_t window, std::uint64_t initial_credit,
                             std::size_t max_message_size)
    : window_(window), max_message_size_(max_message_size), advertised_(initial_credit) {}

bool ReceiveBuffer::max_data_due() const noexcept {
  if (resend_) return true;
  return max_data() > advertised_ && max_data() - advertised_ >= window_ / limits::kMaxDataUpdateDivisor;
}

ChannelError ReceiveBuffer::charge(std::uint64_t bytes) noexcept {
  if (seen_ + bytes > std::max(advertised_, max_data())) {
    return ChannelError::flow_control_violation;
  }
  seen_ += bytes;
  return ChannelError{};
}

ChannelError ReceiveBuffer::grow(Partial& p, std::uint64_t end, bool is_new, bool is_head) {
  const std::uint64_t have = p.data.size();
  if (auto e = charge((is_new ? limits::kMessageCreditOverhead : 0) + (end > have ? end - have : 0));
      e != ChannelError{}) {
    return e;
  }
  if (end > have) {
    // The head of the line may grow to its full length anyway (see the header), so it gets
    // its whole buffer at once: no reallocation and copy per doubling. Others grow
    // geometrically, never past the message's length, so a buffer is at most its size.
    if (end > p.data.capacity()) {
      const std::uint64_t cap = p.total_known ? p.total : max_message_size_;
      const std::uint64_t want = is_head && p.total_known ? cap : std::max(end, 2 * have);
      p.data.reserve(static_cast<std::size_t>(std::min(cap, want)));
    }
    buffered_ += static_cast<std::size_t>(end - have);
  }
  return ChannelError{};
}

// Fragments mostly arrive in order: appending copies them once, where resizing first would
// also zero the bytes about to be overwritten.
void ReceiveBuffer::store(std::vector<std::uint8_t>& buf, std::uint64_t offset,
                          std::span<const std::uint8_t> data) {
  const std::size_t at = static_cast<std::size_t>(offset);
  if (at == buf.size()) {
    buf.insert(buf.end(), data.begin(), data.end());
    return;
  }
  buf.resize(std::max(buf.size(), at + data.size()));
  if (!data.empty()) std::memcpy(buf.data() + at, data.data(), data.size());
}

ChannelError ReceiveBuffer::on_fragment(const MessageFrame& f) {
  if (f.id < next_id_) return ChannelError{};  // delivered already: a late copy
  const std::uint64_t end = f.offset + f.data.size();
  if (end > max_message_size_ || (f.offset == 0 && f.total > max_message_size_)) {
    return ChannelError::message_too_large;
  }
  if (f.id == next_id_ && f.offset == 0 && f.data.size() == f.total &&
      (!partial_ || partial_->begin()->first != f.id)) {
    return on_whole_head(f);
  }
  if (!partial_) partial_ = std::make_unique<Partials>();
  auto [it, is_new] = partial_->try_emplace(f.id);
  Partial& p = it->second;
  if (f.offset == 0) {
    if ((p.total_known && p.total != f.total) || p.data.size() > f.total) {
      if (is_new) erase_partial(it);
      return ChannelError::fragment_out_of_bounds;
    }
    p.total = f.total;
    p.total_known = true;
  } else if (p.total_known && end > p.total) {
    return ChannelError::fragment_out_of_bounds;
  }
  if (auto e = grow(p, end, is_new, f.id == next_id_); e != ChannelError{}) {
    if (is_new) erase_partial(it);
    return e;
  }
  store(p.data, f.offset, f.data);
  if (!f.data.empty()) p.have.insert(f.offset, end);
  deliver_complete();
  release_head_early();
  return ChannelError{};
}

// The common case, a whole message in one fragment and next in line, skips reassembly: it
// is charged and released exactly as the general path would, without a Partial.
ChannelError ReceiveBuffer::on_whole_head(const MessageFrame& f) {
  if (auto e = charge(limits::kMessageCreditOverhead + f.total); e != ChannelError{}) return e;
  buffered_ += f.data.size();
  ready_.push_back(Ready{std::vector<std::uint8_t>(f.data.begin(), f.data.end()), head_released_});
  head_released_ = 0;
  ++next_id_;
  deliver_complete();
  release_head_early();
  return ChannelError{};
}

void ReceiveBuffer::erase_partial(Partials::iterator it) noexcept {
  partial_->erase(it);
  if (partial_->empty()) partial_.reset();
}

void ReceiveBuffer::deliver_complete() {
  while (partial_ && partial_->begin()->first == next_id_) {
    auto it = partial_->begin();
    Partial& p = it->second;
    if (!p.total_known || !p.have.contains(0, p.total)) return;
    ready_.push_back(Ready{std::move(p.data), head_released_});
    head_released_ = 0;
    erase_partial(it);
    ++next_id_;
  }
}

void ReceiveBuffer::release_head_early() {
  if (!ready_.empty() || !partial_) return;
  auto it = partial_->find(next_id_);
  if (it == partial_->end()) return;
  const std::uint64_t charge = limits::kMessageCreditOverhead + it->second.data.size();
  released_ += charge - head_released_;
  head_released_ = charge;
}

std::optional<std::vector<std::uint8_t>> ReceiveBuffer::pop() {
  if (ready_.empty()) return std::nullopt;
  Ready r = std::move(ready_.front());
  ready_.pop_front();
  buffered_ -= r.data.size();
  released_ += limits::kMessageCreditOverhead + r.data.size() - r.early_credit;
  release_head_early();
  return std::move(r.data);
}

}  // namespace peermq::channel
