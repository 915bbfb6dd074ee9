// Fuzz target: arbitrary bytes as a channel packet, to the frame decoder and to a Channel.
//
// The decoder must never read past its input and must agree with itself: a packet that
// validates decodes frame by frame without error. A Channel fed the same bytes (and its own
// answers) must neither crash nor break its invariants.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "channel/channel.hpp"
#include "channel/frame.hpp"
#include "support/manual_clock.hpp"

using namespace peermq;
using namespace peermq::channel;
namespace limits = peermq::limits;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  bool eliciting = false;
  const ChannelError verdict = validate_packet(in, eliciting);
  PacketReader r(in);
  std::uint64_t pn = 0;
  ChannelError step = r.read_packet_number(pn);
  Frame f;
  while (step == ChannelError{} && r.more()) step = r.next(f);
  // A packet that validates decodes without error; one that does not, fails somewhere.
  if (verdict == ChannelError{} && step != ChannelError{}) std::abort();

  // The same bytes, split in up to four packets, to a channel that also talks back.
  Channel c;
  Instant now = ManualClock::kDefaultStart;
  std::vector<std::uint8_t> out(limits::kMaxPacketSize);
  const std::size_t part = size / 4 + 1;
  for (std::size_t at = 0; at < size; at += part) {
    (void)c.on_packet(in.subspan(at, std::min(part, size - at)), now);
    now += std::chrono::milliseconds(7);
    if (c.next_deadline() <= now) c.on_timeout(now);
    for (int i = 0; i < 8 && c.poll_packet(out, now) > 0; ++i) {
    }
    while (c.poll_message()) {
    }
    while (c.poll_datagram()) {
    }
  }
  (void)c.on_packet(in, now);
  return 0;
}
