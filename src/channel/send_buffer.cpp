#include "channel/send_buffer.hpp"

#include <algorithm>

#include "channel/channel_error.hpp"
#include "wire/limits.hpp"

namespace peermq::channel {

SendBuffer::SendBuffer(std::size_t limit, std::size_t max_message_size,
                       std::uint64_t initial_credit)
    : limit_(limit), max_message_size_(max_message_size), peer_max_data_(initial_credit) {}

Result<void> SendBuffer::push(std::span<const std::uint8_t> message) {
  if (message.size() > max_message_size_) return ChannelError::message_too_large;
  if (buffered_ > 0 && buffered_ + message.size() > limit_) return ChannelError::would_block;
  // Zero-length messages cost no bytes, so bound their count as well.
  if (messages_.size() >= limit_ / limits::kMessageCreditOverhead)
    return ChannelError::would_block;
  Message& m = messages_.emplace_back();
  // A freed buffer of about the right size saves an allocation and, for large messages,
  // the page faults of fresh memory.
  if (spares_ && !spares_->buffers.empty() &&
      spares_->buffers.back().capacity() >= message.size() &&
      spares_->buffers.back().capacity() / 2 <= message.size()) {
    m.data = std::move(spares_->buffers.back());
    spares_->buffers.pop_back();
    spares_->bytes -= m.data.capacity();
  }
  m.data.assign(message.begin(), message.end());
  buffered_ += message.size();
  return {};
}

SendBuffer::Message* SendBuffer::find(std::uint64_t id) noexcept {
  if (id < front_id_ || id - front_id_ >= messages_.size()) return nullptr;
  return &messages_[static_cast<std::size_t>(id - front_id_)];
}

bool SendBuffer::has_new() const noexcept {
  if (next_new_ - front_id_ >= messages_.size()) return false;
  const Message& m = messages_[static_cast<std::size_t>(next_new_ - front_id_)];
  const std::uint64_t need =
      m.started ? 1 : limits::kMessageCreditOverhead + (m.data.empty() ? 0 : 1);
  return peer_max_data_ >= credit_used_ + need;
}

void SendBuffer::set_peer_max_data(std::uint64_t credit) noexcept {
  peer_max_data_ = std::max(peer_max_data_, credit);
}

std::uint64_t SendBuffer::write(PacketWriter& w, std::vector<Chunk>& chunks) {
  std::uint64_t retransmitted = 0;
  while (lost_ids_ && write_retransmit(w, chunks, retransmitted)) {
  }
  while (has_new() && write_new(w, chunks)) {
  }
  return retransmitted;
}

// Resends the lowest lost range of the lowest message that has one; false when the packet
// has no room left for it.
bool SendBuffer::write_retransmit(PacketWriter& w, std::vector<Chunk>& chunks,
                                  std::uint64_t& bytes) {
  const std::uint64_t id = *lost_ids_->begin();
  Message* m = find(id);
  if (m == nullptr || m->done) {
    forget_lost(id);
    return true;
  }
  const std::uint64_t total = m->data.size();
  if (m->empty_lost) {
    if (!w.put_message(id, 0, 0, {})) return false;
    m->empty_lost = false;
    chunks.push_back({id, 0, 0});
  } else {
    const RangeSet::Range r = m->lost.front();
    bool fits = false;
    const std::size_t room = message_data_fit(id, r.begin, total, w.remaining(), fits);
    if (!fits || room == 0) return false;
    const std::uint64_t n = std::min<std::uint64_t>(room, r.end - r.begin);
    const auto data = std::span<const std::uint8_t>(m->data).subspan(
        static_cast<std::size_t>(r.begin), static_cast<std::size_t>(n));
    if (!w.put_message(id, r.begin, total, data)) return false;
    m->lost.erase(r.begin, r.begin + n);
    chunks.push_back({id, r.begin, n});
    bytes += n;
  }
  if (m->lost.empty() && !m->empty_lost) forget_lost(id);
  return true;
}

void SendBuffer::forget_lost(std::uint64_t id) noexcept {
  if (!lost_ids_) return;
  lost_ids_->erase(id);
  if (lost_ids_->empty()) lost_ids_.reset();
}

bool SendBuffer::write_new(PacketWriter& w, std::vector<Chunk>& chunks) {
  Message& m = messages_[static_cast<std::size_t>(next_new_ - front_id_)];
  const std::uint64_t total = m.data.size();
  std::uint64_t credit = peer_max_data_ - credit_used_;
  if (!m.started) credit -= limits::kMessageCreditOverhead;  // has_new() checked it is there
  bool fits = false;
  const std::size_t room = message_data_fit(next_new_, m.sent, total, w.remaining(), fits);
  const std::uint64_t n = std::min({std::uint64_t{room}, total - m.sent, credit});
  if (!fits || (n == 0 && total > 0)) return false;
  const auto data = std::span<const std::uint8_t>(m.data).subspan(static_cast<std::size_t>(m.sent),
                                                                  static_cast<std::size_t>(n));
  if (!w.put_message(next_new_, m.sent, total, data)) return false;
  chunks.push_back({next_new_, m.sent, n});
  credit_used_ += n + (m.started ? 0 : limits::kMessageCreditOverhead);
  m.started = true;
  m.sent += n;
  if (m.sent == total) ++next_new_;
  return true;
}

void SendBuffer::on_acked(const Chunk& c) {
  Message* m = find(c.message_id);
  if (m == nullptr || m->done) return;
  if (c.offset == 0 && c.length == m->data.size()) {  // the whole message (or an empty one)
    finish(c.message_id, *m);
    return;
  }
  if (m->data.empty()) {
    m->empty_acked = true;
    m->empty_lost = false;
  } else {
    m->acked.insert(c.offset, c.offset + c.length);
    m->lost.erase(c.offset, c.offset + c.length);
  }
  finish_if_done(c.message_id, *m);
}

void SendBuffer::on_lost(const Chunk& c) {
  Message* m = find(c.message_id);
  if (m == nullptr || m->done) return;
  if (m->data.empty()) {
    if (m->empty_acked) return;
    m->empty_lost = true;
  } else {
    // Only the parts not acknowledged by some other copy need to go again.
    std::uint64_t at = c.offset;
    const std::uint64_t end = c.offset + c.length;
    while (at < end) {
      const std::uint64_t gap_end = m->acked.first_gap_end(at, end);
      if (gap_end > at) {
        m->lost.insert(at, gap_end);
        at = gap_end;
      }
      if (at < end) at = std::min(end, m->acked.covered_end(at));
    }
    if (m->lost.empty()) return;
  }
  if (!lost_ids_) lost_ids_ = std::make_unique<std::set<std::uint64_t>>();
  lost_ids_->insert(c.message_id);
}

void SendBuffer::finish_if_done(std::uint64_t id, Message& m) {
  const bool all = m.data.empty() ? m.empty_acked : m.acked.contains(0, m.data.size());
  if (all) finish(id, m);
}

void SendBuffer::finish(std::uint64_t id, Message& m) {
  m.done = true;
  buffered_ -= m.data.size();
  std::vector<std::uint8_t> data = std::move(m.data);
  m.acked.clear();
  m.lost.clear();
  forget_lost(id);
  while (!messages_.empty() && messages_.front().done) {
    messages_.pop_front();
    ++front_id_;
  }
  // An idle channel keeps no spare memory; one that is still busy reuses the buffer.
  if (messages_.empty()) {
    spares_.reset();
  } else {
    keep_spare(std::move(data));
  }
}

// Spares are bounded in number and bytes (a quarter of the buffer limit), so recycling
// never holds much more memory than the queued messages themselves.
void SendBuffer::keep_spare(std::vector<std::uint8_t>&& data) {
  std::vector<std::uint8_t> buf = std::move(data);
  if (buf.capacity() == 0) return;
  if (!spares_) spares_ = std::make_unique<Spares>();
  if (spares_->buffers.size() >= limits::kSendBufferMaxSpares ||
      spares_->bytes + buf.capacity() > limit_ / limits::kSendBufferSpareDivisor) {
    return;
  }
  spares_->bytes += buf.capacity();
  spares_->buffers.push_back(std::move(buf));
}

}  // namespace peermq::channel
