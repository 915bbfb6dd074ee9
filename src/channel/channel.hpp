// Channel: reliable, ordered, exactly-once messages and unreliable datagrams over one
// session, in the spirit of QUIC (RFC 9000 frames, RFC 9002 recovery and congestion control).
//
// No I/O: the owner feeds it each decrypted packet plaintext with on_packet(), asks for
// packets to seal with poll_packet() until it returns 0, and calls on_timeout() at
// next_deadline(). All calls come from one thread (the node's loop); the Channel owns
// copies of everything it is given.
//
// Timers (all folded into next_deadline()):
//   loss timer  a packet crosses the 9/8 RTT time threshold          (LossDetector)
//   PTO         no ACK for a while: send up to two probes             (LossDetector)
//   ack delay   an ACK owed for at most max_ack_delay (5 ms); a lone PING at once (AckTracker)
//   pacing      the next packet may leave at the pacer's rate          (Pacer)
//   keepalive   nothing ack-eliciting sent for keepalive_interval: PING (if configured)
//
// Memory: a node keeps one Channel per peer, most of them idle, so an idle channel holds
// no heap memory: its queues (Ring) free their storage when they drain, the chunk lists of
// acknowledged packets are kept for reuse only while packets are in flight, and the
// per-call scratch (a decoded frame, an ACK frame, a loss outcome: over 1 KiB) is per
// thread, not per channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "channel/ack_tracker.hpp"
#include "wire/limits.hpp"
#include "channel/loss_detector.hpp"
#include "channel/new_reno.hpp"
#include "channel/pacer.hpp"
#include "channel/receive_buffer.hpp"
#include "channel/ring.hpp"
#include "channel/rtt_estimator.hpp"
#include "channel/send_buffer.hpp"

namespace peermq::channel {

// CLOSE code sent when the peer broke flow control or contradicted itself.
inline constexpr std::uint64_t kCloseCodeProtocolViolation = 1;

struct ChannelConfig {
  std::size_t max_message_size = limits::kMaxMessageSize;
  std::size_t send_buffer_limit = limits::kDefaultSendBufferLimit;
  // Credit this side gives beyond what its reader has taken. Both sides start from
  // limits::kInitialFlowWindow; a larger window is announced at once.
  std::uint64_t receive_window = limits::kInitialFlowWindow;
  std::size_t max_packet_size = limits::kMaxPacketSize;
  // Zero: off. Otherwise, once something was sent, a PING goes out whenever nothing
  // ack-eliciting was sent for this long; the peer's ACK answers it, so both ends keep
  // hearing from each other and neither closes the session as idle (QUIC's keep-alive).
  // For the side that needs the session to stay (a client of a broker), not both.
  Duration keepalive_interval{};
};

// What a channel counts; ChannelStats adds what stats() reads from the estimators.
struct ChannelCounts {
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t packets_lost = 0;
  std::uint64_t packets_retransmitted = 0;  // packets that carried resent data (never resent whole)
  std::uint64_t packets_duplicate = 0;
  std::uint64_t packets_malformed = 0;
  std::uint64_t protocol_violations = 0;  // the channel closed because of them
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_retransmitted = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_dropped = 0;  // receive queue full
  std::uint64_t pto_count = 0;
  std::uint64_t keepalives = 0;  // PINGs sent because keepalive_interval passed in silence
};

struct ChannelStats : ChannelCounts {
  Duration smoothed_rtt{};
  std::size_t congestion_window = 0;
  std::size_t bytes_in_flight = 0;
};

class Channel {
 public:
  explicit Channel(const ChannelConfig& config = {});

  // Queues a copy of `message`. would_block when the send buffer is full (wait for the peer
  // to read), message_too_large over the limit, closed after close().
  Result<void> send(std::span<const std::uint8_t> message);
  // Queues a copy of an unreliable datagram: sent once, never retransmitted.
  Result<void> send_datagram(std::span<const std::uint8_t> datagram);
  // Closes the channel; a CLOSE frame with `code` goes out with the next packets.
  void close(std::uint64_t code);

  // One decrypted packet from the peer. A malformed packet is dropped whole (error
  // returned, nothing changed); a peer breaking flow control closes the channel.
  Result<void> on_packet(std::span<const std::uint8_t> plaintext, Instant now);
  // Writes the next packet to send into `out` (at least max_packet_size bytes are used if
  // given) and returns its size; 0 when nothing may go now (pacing, congestion window,
  // nothing to send).
  std::size_t poll_packet(std::span<std::uint8_t> out, Instant now);
  // Whether the last packet poll_packet() wrote, or on_packet() took, asks for an ACK: one
  // that does not (ACKs only) expects no answer, which the session below is told
  // (session::Elicits), so that neither end sends or waits for anything on its account.
  bool last_sent_eliciting() const noexcept { return last_sent_eliciting_; }
  bool last_received_eliciting() const noexcept { return last_received_eliciting_; }
  void on_timeout(Instant now);
  // The next time on_timeout() (or poll_packet()) has work; Instant::max() when idle. It may
  // lie in the past (an ACK or probe is due now): then call on_timeout() and poll at once.
  Instant next_deadline() const noexcept;

  std::optional<std::vector<std::uint8_t>> poll_message();
  std::optional<std::vector<std::uint8_t>> poll_datagram();

  bool is_closed() const noexcept { return closed_; }
  std::optional<std::uint64_t> peer_close_code() const noexcept { return peer_close_code_; }
  // Messages sent but not yet acknowledged, and whether everything has been acknowledged.
  std::size_t send_buffered_bytes() const noexcept { return send_.buffered_bytes(); }
  bool all_acked() const noexcept { return send_.queued_messages() == 0; }
  // Something ack-eliciting is unacknowledged (a message, or a PING).
  bool awaiting_ack() const noexcept { return !all_acked() || loss_.outstanding() > 0; }
  // The next packet carries a PING, which the peer acknowledges: to learn whether it is
  // still there when nothing else is due.
  void ping() noexcept { keepalive_due_ = true; }
  std::size_t receive_buffered_bytes() const noexcept { return receive_.buffered_bytes(); }
  ChannelStats stats() const noexcept;
  // Largest datagram send_datagram() accepts.
  std::size_t max_datagram_size() const noexcept;

 private:
  bool has_ack_eliciting_work() const noexcept;
  bool wants_ack_pinged(bool may_send, std::size_t ack_ranges) const noexcept;
  bool has_datagrams_out() const noexcept { return datagrams_ && !datagrams_->out.empty(); }
  void release_datagrams_if_empty() noexcept;
  ChannelError apply_frame(const Frame& f, Instant now);
  void on_ack_frame(const AckFrame& a, Instant now);
  void handle_outcome(LossOutcome& outcome, Instant now);
  void recycle(SentPacket& p);
  void release_spares_if_idle() noexcept;
  bool write_eliciting(PacketWriter& w, SentPacket& p, bool probe);
  Instant keepalive_deadline() const noexcept;

  std::size_t max_packet_size_;  // what the channel itself keeps of its ChannelConfig...
  Duration keepalive_interval_;  // ...and this
  RttEstimator rtt_;
  NewReno congestion_;
  Pacer pacer_;
  LossDetector loss_;
  AckTracker acks_;
  SendBuffer send_;
  ReceiveBuffer receive_;
  std::vector<std::vector<Chunk>> spare_chunks_;  // emptied when nothing is in flight
  // Unreliable datagrams to send and received unread: allocated on first use, freed when
  // both are empty (most channels never carry one).
  struct Datagrams {
    Ring<std::vector<std::uint8_t>> out;
    Ring<std::vector<std::uint8_t>> in;
  };
  std::unique_ptr<Datagrams> datagrams_;
  std::uint64_t next_pn_ = 0;
  unsigned probes_ = 0;     // PTO probes still to send, bypassing the congestion window
  Instant probe_due_{};     // when the PTO that asked for them fired
  Instant last_eliciting_sent_ = Instant::max();  // max: nothing ack-eliciting sent yet
  bool keepalive_due_ = false;  // keepalive_interval passed: the next packet carries a PING
  bool last_sent_eliciting_ = false;
  bool last_received_eliciting_ = false;
  bool closed_ = false;
  bool close_pending_ = false;
  std::uint64_t close_code_ = 0;
  std::optional<std::uint64_t> peer_close_code_;
  ChannelCounts stats_;
};

}  // namespace peermq::channel
