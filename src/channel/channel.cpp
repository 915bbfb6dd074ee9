#include "channel/channel.hpp"

#include <algorithm>

#include "channel/varint.hpp"

namespace peermq::channel {
namespace {

// What one call into a channel decodes or builds and forgets on return. Kept per thread
// rather than per channel: an AckFrame is over 500 bytes, a Frame 600, and a broker holds
// a channel per peer. No call into a channel runs inside another's.
struct Scratch {
  Frame frame;
  AckFrame ack;
  LossOutcome outcome;  // its SentPackets' chunk lists are moved out before it is reused
};

Scratch& scratch() noexcept {
  thread_local Scratch s;
  return s;
}

}  // namespace

Channel::Channel(const ChannelConfig& config)
    : max_packet_size_(config.max_packet_size),
      keepalive_interval_(config.keepalive_interval),
      congestion_(config.max_packet_size),
      pacer_(config.max_packet_size),
      send_(config.send_buffer_limit, config.max_message_size, limits::kInitialFlowWindow),
      receive_(config.receive_window, limits::kInitialFlowWindow, config.max_message_size) {}

Result<void> Channel::send(std::span<const std::uint8_t> message) {
  if (closed_) return ChannelError::closed;
  auto r = send_.push(message);
  if (r) ++stats_.messages_sent;
  return r;
}

std::size_t Channel::max_datagram_size() const noexcept {
  // Worst case: an 8-byte packet number and a 2-byte length field.
  return max_packet_size_ - 8 - 1 - 2;
}

Result<void> Channel::send_datagram(std::span<const std::uint8_t> datagram) {
  if (closed_) return ChannelError::closed;
  if (datagram.size() > max_datagram_size()) return ChannelError::datagram_too_large;
  if (!datagrams_) datagrams_ = std::make_unique<Datagrams>();
  if (datagrams_->out.size() >= limits::kMaxQueuedDatagrams) return ChannelError::would_block;
  datagrams_->out.emplace_back(datagram.begin(), datagram.end());
  return {};
}

void Channel::release_datagrams_if_empty() noexcept {
  if (datagrams_ && datagrams_->out.empty() && datagrams_->in.empty()) datagrams_.reset();
}

void Channel::close(std::uint64_t code) {
  if (closed_) return;
  closed_ = true;
  close_pending_ = true;
  close_code_ = code;
}

Result<void> Channel::on_packet(std::span<const std::uint8_t> plaintext, Instant now) {
  if (peer_close_code_) return ChannelError::closed;
  bool eliciting = false;
  if (auto e = validate_packet(plaintext, eliciting); e != ChannelError{}) {
    ++stats_.packets_malformed;
    return e;
  }
  PacketReader r(plaintext);
  std::uint64_t pn = 0;
  (void)r.read_packet_number(pn);
  last_received_eliciting_ = eliciting;
  if (!acks_.on_packet(pn, eliciting, now)) {
    ++stats_.packets_duplicate;
    return {};
  }
  ++stats_.packets_received;
  stats_.bytes_received += plaintext.size();
  Frame& frame = scratch().frame;
  bool ping_only = eliciting;  // no frame but PING asked for the ACK
  while (r.more()) {
    (void)r.next(frame);  // validated above
    if (frame.type != FrameType::ping && frame.type != FrameType::ack &&
        frame.type != FrameType::padding) {
      ping_only = false;
    }
    if (auto e = apply_frame(frame, now); e != ChannelError{}) return e;
  }
  // A lone PING (a keepalive, a probe) wants its ACK and nothing follows it to share the
  // ACK with: answer within this input. Holding it max_ack_delay cost a broker one timer
  // wakeup per client keepalive (100,000 idle clients: ~6,700 a second).
  if (ping_only) acks_.ack_now(now);
  return {};
}

ChannelError Channel::apply_frame(const Frame& f, Instant now) {
  switch (f.type) {
    case FrameType::ack: on_ack_frame(f.ack, now); break;
    case FrameType::message:
      if (closed_) break;
      if (auto e = receive_.on_fragment(f.message); e != ChannelError{}) {
        // The peer broke the protocol (credit or lengths): nothing more it sends is trusted.
        ++stats_.protocol_violations;
        close(kCloseCodeProtocolViolation);
        return e;
      }
      break;
    case FrameType::max_data: send_.set_peer_max_data(f.value); break;
    case FrameType::datagram:
      if (!datagrams_) datagrams_ = std::make_unique<Datagrams>();
      if (datagrams_->in.size() >= limits::kMaxQueuedDatagrams) {
        ++stats_.datagrams_dropped;
      } else {
        datagrams_->in.emplace_back(f.datagram.begin(), f.datagram.end());
        ++stats_.datagrams_received;
      }
      break;
    case FrameType::close:
      peer_close_code_ = f.value;
      closed_ = true;
      close_pending_ = false;
      break;
    case FrameType::padding:
    case FrameType::ping: break;
  }
  return ChannelError{};
}

// A packet's chunk list is kept for the next packet (no allocation per packet while data
// flows); lists that never held anything are not worth keeping.
void Channel::recycle(SentPacket& p) {
  if (p.chunks.capacity() == 0) return;
  p.chunks.clear();
  spare_chunks_.push_back(std::move(p.chunks));
}

// Nothing in flight: the channel may stay idle for hours, so it keeps no spare lists.
void Channel::release_spares_if_idle() noexcept {
  if (loss_.outstanding() == 0) std::vector<std::vector<Chunk>>().swap(spare_chunks_);
}

void Channel::on_ack_frame(const AckFrame& a, Instant now) {
  if (a.largest() >= next_pn_) return;  // acks a packet never sent: ignore the frame
  LossOutcome& outcome = scratch().outcome;
  loss_.on_ack(a, now, rtt_, outcome);
  for (SentPacket& p : outcome.acked) {
    congestion_.on_packet_acked(p.bytes, p.time_sent);
    for (const Chunk& c : p.chunks) send_.on_acked(c);
    if (p.has_ack) acks_.on_ack_acknowledged(p.ack_largest);
    recycle(p);
  }
  handle_outcome(outcome, now);
  release_spares_if_idle();
}

void Channel::handle_outcome(LossOutcome& outcome, Instant now) {
  if (outcome.lost.empty()) return;
  for (SentPacket& p : outcome.lost) {
    ++stats_.packets_lost;
    congestion_.on_packet_removed(p.bytes);
    for (const Chunk& c : p.chunks) send_.on_lost(c);
    if (p.has_max_data) receive_.on_max_data_lost();
    if (p.has_close) close_pending_ = true;
    recycle(p);
  }
  congestion_.on_congestion_event(outcome.lost.back().time_sent, now);
  if (outcome.persistent_congestion) congestion_.on_persistent_congestion();
}

void Channel::on_timeout(Instant now) {
  LossOutcome& outcome = scratch().outcome;
  if (loss_.on_timeout(now, rtt_, outcome)) {
    probes_ = limits::kPtoProbePackets;
    probe_due_ = now;
    ++stats_.pto_count;
  }
  if (now >= keepalive_deadline()) {
    keepalive_due_ = true;
    ++stats_.keepalives;
  }
  handle_outcome(outcome, now);
  release_spares_if_idle();
}

// A side that only sends ACKs never hears which of them arrived, so its ACK frames would
// keep every range (up to max_ack_ranges) forever. Once they grow long, one PING at a time
// makes such a packet acknowledged, which lets the ranges below it be dropped.
bool Channel::wants_ack_pinged(bool may_send, std::size_t ack_ranges) const noexcept {
  return may_send && ack_ranges >= limits::kAckRangesBeforePing && loss_.outstanding() == 0 &&
         !closed_;
}

bool Channel::has_ack_eliciting_work() const noexcept {
  if (close_pending_) return true;
  if (closed_) return false;
  return keepalive_due_ || receive_.max_data_due() || has_datagrams_out() ||
         send_.has_retransmit() || send_.has_new();
}

// Everything but the ACK: control first (small, urgent), then datagrams, then message data.
bool Channel::write_eliciting(PacketWriter& w, SentPacket& p, bool probe) {
  const std::size_t start = w.size();
  if (close_pending_ && w.put_close(close_code_)) {
    close_pending_ = false;
    p.has_close = true;
  }
  if (!closed_) {
    if (receive_.max_data_due() && w.put_max_data(receive_.max_data())) {
      receive_.on_max_data_sent();
      receive_.clear_resend();
      p.has_max_data = true;
    }
    if (has_datagrams_out()) {
      while (!datagrams_->out.empty() && w.put_datagram(datagrams_->out.front())) {
        datagrams_->out.pop_front();
        ++stats_.datagrams_sent;
      }
      release_datagrams_if_empty();
    }
    const std::uint64_t resent = send_.write(w, p.chunks);
    if (resent > 0) {
      ++stats_.packets_retransmitted;
      stats_.bytes_retransmitted += resent;
    }
  }
  if ((probe || keepalive_due_) && w.size() == start) (void)w.put_ping();
  return w.size() > start;
}

std::size_t Channel::poll_packet(std::span<std::uint8_t> out, Instant now) {
  if (out.size() < max_packet_size_) return 0;
  pacer_.update(now, congestion_.congestion_window(), rtt_.smoothed_rtt());
  const bool probe = probes_ > 0;
  const bool may_send = probe || (congestion_.can_send() && pacer_.can_send());
  const bool eliciting_work = may_send && (probe || has_ack_eliciting_work());
  const bool ack_now = acks_.ack_due(now);
  if (!eliciting_work && !ack_now) return 0;

  PacketWriter w(out.first(max_packet_size_));
  const std::uint64_t pn = next_pn_;
  (void)w.put_packet_number(pn);
  SentPacket p;
  if (!spare_chunks_.empty()) {
    p.chunks = std::move(spare_chunks_.back());
    spare_chunks_.pop_back();
  }
  std::size_t ack_ranges = 0;
  if (ack_now || (eliciting_work && acks_.has_new())) {
    AckFrame& ack = scratch().ack;
    acks_.fill(ack, now);
    ack_ranges = ack.range_count;
    if (ack.range_count > 0 && w.put_ack(ack)) {
      acks_.on_ack_sent();
      p.has_ack = true;
      p.ack_largest = ack.largest();
    }
  }
  bool eliciting = eliciting_work && write_eliciting(w, p, probe);
  if (!eliciting && p.has_ack && wants_ack_pinged(may_send, ack_ranges) && w.put_ping()) {
    eliciting = true;
  }
  if (w.size() == varint_size(pn)) {
    recycle(p);
    return 0;
  }
  ++next_pn_;
  ++stats_.packets_sent;
  last_sent_eliciting_ = eliciting;
  stats_.bytes_sent += w.size();
  if (eliciting) {
    if (probe) --probes_;
    keepalive_due_ = false;
    last_eliciting_sent_ = now;
    p.pn = pn;
    p.time_sent = now;
    p.bytes = static_cast<std::uint32_t>(w.size());
    congestion_.on_packet_sent(w.size());
    pacer_.on_sent(w.size());
    loss_.on_packet_sent(std::move(p));
  } else {
    recycle(p);
  }
  return w.size();
}

Instant Channel::keepalive_deadline() const noexcept {
  if (keepalive_interval_ <= Duration::zero() || keepalive_due_ || closed_ ||
      last_eliciting_sent_ == Instant::max()) {
    return Instant::max();
  }
  return last_eliciting_sent_ + keepalive_interval_;
}

Instant Channel::next_deadline() const noexcept {
  Instant t = std::min({loss_.deadline(rtt_), acks_.deadline(), keepalive_deadline()});
  if (probes_ > 0) return probe_due_;
  if (has_ack_eliciting_work() && congestion_.can_send()) {
    t = std::min(t, pacer_.next_send_time());
  }
  return t;
}

std::optional<std::vector<std::uint8_t>> Channel::poll_message() {
  auto m = receive_.pop();
  if (m) ++stats_.messages_received;
  return m;
}

std::optional<std::vector<std::uint8_t>> Channel::poll_datagram() {
  if (!datagrams_ || datagrams_->in.empty()) return std::nullopt;
  auto d = std::move(datagrams_->in.front());
  datagrams_->in.pop_front();
  release_datagrams_if_empty();
  return d;
}

ChannelStats Channel::stats() const noexcept {
  ChannelStats s{stats_};
  s.smoothed_rtt = rtt_.smoothed_rtt();
  s.congestion_window = congestion_.congestion_window();
  s.bytes_in_flight = congestion_.bytes_in_flight();
  return s;
}

}  // namespace peermq::channel
