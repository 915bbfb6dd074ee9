// SendBuffer: messages waiting to be sent or acknowledged, QUIC-style.
//
// Each message gets the next id and is cut into MESSAGE fragments that fit the packet being
// built; several small messages share one packet. When a packet is lost, its fragments'
// byte ranges (minus anything acked since) are queued again and go out first, in whatever
// packet is built next: the data is retransmitted, never the packet. A message is freed once
// all its bytes are acknowledged.
//
// Flow control: first transmissions spend the peer's credit (MAX_DATA): a message's bytes
// plus message_credit_overhead when its first fragment goes out. Retransmissions are free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include <peermq/result.hpp>

#include "channel/frame.hpp"
#include "channel/loss_detector.hpp"
#include "channel/range_set.hpp"
#include "channel/ring.hpp"

namespace peermq::channel {

class SendBuffer {
 public:
  SendBuffer(std::size_t limit, std::size_t max_message_size, std::uint64_t initial_credit);

  // Copies the message in. would_block when the buffer is full (one message of any allowed
  // size is accepted into an empty buffer), message_too_large over the maximum.
  Result<void> push(std::span<const std::uint8_t> message);

  bool has_retransmit() const noexcept { return lost_ids_ != nullptr; }
  bool has_new() const noexcept;
  // Writes as many fragments as fit: retransmissions first, then new data within the
  // credit. Appends what it wrote to `chunks`; returns the retransmitted bytes.
  std::uint64_t write(PacketWriter& w, std::vector<Chunk>& chunks);

  void on_acked(const Chunk& c);
  void on_lost(const Chunk& c);
  void set_peer_max_data(std::uint64_t credit) noexcept;

  std::size_t buffered_bytes() const noexcept { return buffered_; }
  std::size_t queued_messages() const noexcept { return messages_.size(); }
  std::uint64_t credit_used() const noexcept { return credit_used_; }
  std::uint64_t peer_max_data() const noexcept { return peer_max_data_; }

 private:
  struct Message {
    std::vector<std::uint8_t> data;
    std::uint64_t sent = 0;  // [0, sent) went out at least once
    bool started = false;    // the first fragment (with the total length) went out
    bool empty_acked = false;
    bool empty_lost = false;
    bool done = false;
    RangeSet acked;
    RangeSet lost;
  };
  Message* find(std::uint64_t id) noexcept;
  bool write_retransmit(PacketWriter& w, std::vector<Chunk>& chunks, std::uint64_t& bytes);
  bool write_new(PacketWriter& w, std::vector<Chunk>& chunks);
  void finish_if_done(std::uint64_t id, Message& m);
  void finish(std::uint64_t id, Message& m);
  void keep_spare(std::vector<std::uint8_t>&& data);
  void forget_lost(std::uint64_t id) noexcept;

  std::size_t limit_;
  std::size_t max_message_size_;
  Ring<Message> messages_;  // ids front_id_, front_id_ + 1, ...
  std::uint64_t front_id_ = 0;
  std::uint64_t next_new_ = 0;   // the first message not yet sent out whole
  // Messages with bytes to resend; allocated only while there are some (nullptr: none).
  std::unique_ptr<std::set<std::uint64_t>> lost_ids_;
  // Buffers of acknowledged messages, reused by push() while the channel is busy; none
  // (nullptr) once every message is acknowledged.
  struct Spares {
    std::vector<std::vector<std::uint8_t>> buffers;
    std::size_t bytes = 0;
  };
  std::unique_ptr<Spares> spares_;
  std::size_t buffered_ = 0;
  std::uint64_t credit_used_ = 0;
  std::uint64_t peer_max_data_;
};

}  // namespace peermq::channel
