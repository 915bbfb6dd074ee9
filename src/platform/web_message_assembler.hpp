// WebMessageAssembler: the pieces of one WebSocket connection's messages, as
// libwebsockets hands them over (a message may come in several frames, a frame in several
// reads), joined into whole datagrams. One binary message carries exactly one sealed
// datagram (the bytes a UDP datagram would carry); anything else is dropped whole and
// reported once, when the message ends:
//   - a text message, or an empty binary one: malformed;
//   - a binary message longer than max_datagram (however it was fragmented): oversized,
//     and never buffered beyond max_datagram bytes.
// Validate before touching: nothing of a dropped message reaches the host.
//
// One per connection; no I/O. The datagram() view is valid until the next feed().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "wire/limits.hpp"

namespace peermq::platform {

class WebMessageAssembler {
 public:
  enum class Outcome {
    partial,            // the message goes on: feed the next piece
    datagram,           // a whole datagram: datagram() holds it
    dropped_malformed,  // a text or empty message ended
    dropped_oversized,  // a message over max_datagram ended
  };
  // What libwebsockets says about a piece.
  struct Piece {
    std::span<const std::uint8_t> bytes;
    bool first = true;   // the first piece of a message
    bool last = true;    // the last piece of a message
    bool binary = true;  // the message's opcode (the first frame's) is binary
  };

  explicit WebMessageAssembler(std::size_t max_datagram = limits::kWebMaxDatagram)
      : max_(max_datagram) {}

  Outcome feed(const Piece& piece);
  std::span<const std::uint8_t> datagram() const noexcept { return buffer_; }

 private:
  enum class State { idle, collecting, discarding_text, discarding_oversized };

  std::size_t max_;
  State state_ = State::idle;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace peermq::platform
