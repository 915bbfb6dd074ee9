// DeliveryChecker: judges the messages of a run. The simulator injects faults; this says
// whether the system kept its promise anyway: every message a host accepted with
// Host::send reaches the host it was sent to exactly once, in the order sent, byte for
// byte, and from the sender it was sent by.
//
// Traffic is made of streams (one sender, one receiver). Message `seq` of a stream is a
// function of (stream, seq, size) alone: a header [magic "pmqS", stream u32, seq u64,
// size u32] and bytes derived from it, so the checker needs no copy of what was sent and
// notices any corrupted, truncated, misdirected, repeated or reordered message.
//
// Safety (judge): checked as messages arrive, always, whatever the scenario: nothing
// duplicated, reordered, corrupted, misdelivered, or delivered that was never sent.
// Liveness (judge_complete): every message sent was delivered; a scenario asks for it once
// it has let the traffic drain. A restart of either end loses what was in flight (the
// host says so: on_peer_reset); excuse_losses() allows those messages to be missing, never
// to arrive twice or out of order.
//
// Single-threaded; plain data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <peermq/address.hpp>

#include "sim/verdict.hpp"

namespace peermq::sim {

class DeliveryChecker {
 public:
  using StreamId = std::uint32_t;
  static constexpr std::size_t kHeaderSize = 20;

  // A new stream from `from` to `to`; `label` names it in failures.
  StreamId open(const PublicKey& from, const PublicKey& to, std::string label);
  // The bytes of message `seq` of `stream`: `size` bytes, at least kHeaderSize.
  std::vector<std::uint8_t> message(StreamId stream, std::uint64_t seq, std::size_t size) const;
  // The sender's host accepted message `seq` (sequence numbers go 0, 1, 2, ...).
  void on_sent(StreamId stream, std::uint64_t seq);
  // `receiver`'s host delivered `bytes` from `from`.
  void on_delivered(const PublicKey& receiver, const PublicKey& from,
                    std::span<const std::uint8_t> bytes);
  // Messages of `stream` sent so far may be lost (an end restarted).
  void excuse_losses(StreamId stream);

  void judge(Verdict& v) const;
  void judge_complete(Verdict& v) const;
  // Every stream: everything sent was delivered (or excused).
  bool complete() const;

  std::uint64_t sent(StreamId stream) const { return streams_.at(stream).sent; }
  std::uint64_t delivered(StreamId stream) const { return streams_.at(stream).delivered; }
  std::uint64_t delivered_total() const noexcept { return delivered_total_; }
  std::size_t stream_count() const noexcept { return streams_.size(); }

 private:
  struct Stream {
    PublicKey from{};
    PublicKey to{};
    std::string label;
    std::uint64_t sent = 0;
    std::uint64_t next = 0;          // the seq expected next
    std::uint64_t delivered = 0;
    std::uint64_t excused_below = 0;  // seqs below this may be missing
    std::uint64_t skipped = 0;        // seqs passed over that were not excused
  };

  void violation(std::string what);

  std::vector<Stream> streams_;
  std::vector<std::string> violations_;
  std::uint64_t violation_count_ = 0;
  std::uint64_t delivered_total_ = 0;
};

}  // namespace peermq::sim
