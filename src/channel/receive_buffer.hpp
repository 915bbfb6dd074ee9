// ReceiveBuffer: reassembly of message fragments, ordered exactly-once delivery, and the
// receiver's side of flow control.
//
// Fragments may arrive in any order, more than once, cut differently than before; each
// message is rebuilt from its byte ranges and released to the reader in id order, once.
//
// Credit (MAX_DATA) is cumulative, counted like the sender counts it: every message costs
// message_credit_overhead plus its bytes. The receiver hands out `window` beyond what the
// reader has taken. A message larger than the window must not deadlock, so while the reader
// has nothing left to read, the bytes of the message at the head of the line are credited
// as they arrive. Memory is therefore bounded by window + one maximum-size message.
// A peer that sends beyond its credit, or contradicts itself about a message's length,
// breaks the protocol: on_fragment returns the error and the caller closes the channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "channel/channel_error.hpp"
#include "channel/frame.hpp"
#include "channel/range_set.hpp"
#include "channel/ring.hpp"

namespace peermq::channel {

class ReceiveBuffer {
 public:
  ReceiveBuffer(std::uint64_t window, std::uint64_t initial_credit,
                std::size_t max_message_size);

  ChannelError on_fragment(const MessageFrame& f);
  // The next whole message, in order; the caller owns it.
  std::optional<std::vector<std::uint8_t>> pop();

  // The reader freed enough credit that the peer should hear about it.
  bool max_data_due() const noexcept;
  std::uint64_t max_data() const noexcept { return released_ + window_; }
  void on_max_data_sent() noexcept { advertised_ = std::max(advertised_, max_data()); }
  // A packet that carried MAX_DATA was lost: advertise again.
  void on_max_data_lost() noexcept { resend_ = true; }
  void clear_resend() noexcept { resend_ = false; }

  std::size_t buffered_bytes() const noexcept { return buffered_; }
  std::size_t ready_messages() const noexcept { return ready_.size(); }
  std::uint64_t next_id() const noexcept { return next_id_; }

 private:
  struct Partial {
    std::vector<std::uint8_t> data;  // grown to the highest offset seen
    RangeSet have;
    std::uint64_t total = 0;
    bool total_known = false;
  };
  struct Ready {
    std::vector<std::uint8_t> data;
    std::uint64_t early_credit;  // credit released while it was the head
  };
  ChannelError charge(std::uint64_t bytes) noexcept;
  ChannelError grow(Partial& p, std::uint64_t end, bool is_new, bool is_head);
  ChannelError on_whole_head(const MessageFrame& f);
  static void store(std::vector<std::uint8_t>& buf, std::uint64_t offset,
                    std::span<const std::uint8_t> data);
  void deliver_complete();
  void release_head_early();
  using Partials = std::map<std::uint64_t, Partial>;
  void erase_partial(Partials::iterator it) noexcept;

  std::uint64_t window_;
  std::size_t max_message_size_;
  // Messages being reassembled, ids >= next_id_; allocated only while there are some
  // (a message in one fragment never needs it).
  std::unique_ptr<Partials> partial_;
  Ring<Ready> ready_;
  std::uint64_t next_id_ = 0;
  std::uint64_t seen_ = 0;         // credit the peer has spent, as far as we can tell
  std::uint64_t released_ = 0;     // credit given back (read, or early for the head)
  std::uint64_t head_released_ = 0;
  std::uint64_t advertised_;       // largest MAX_DATA sent (or the initial credit)
  std::size_t buffered_ = 0;
  bool resend_ = false;
};

}  // namespace peermq::channel
