#include "platform/web_message_assembler.hpp"

namespace peermq::platform {

WebMessageAssembler::Outcome WebMessageAssembler::feed(const Piece& piece) {
  if (piece.first || state_ == State::idle) {
    // A new message (a first piece mid-message would be libwebsockets' error: start over).
    buffer_.clear();
    state_ = piece.binary ? State::collecting : State::discarding_text;
  }
  if (state_ == State::collecting) {
    if (piece.bytes.size() > max_ - buffer_.size()) {
      state_ = State::discarding_oversized;  // never hold more than one datagram
      buffer_.clear();
    } else {
      buffer_.insert(buffer_.end(), piece.bytes.begin(), piece.bytes.end());
    }
  }
  if (!piece.last) return Outcome::partial;
  const State ended = state_;
  state_ = State::idle;
  switch (ended) {
    case State::discarding_text: return Outcome::dropped_malformed;
    case State::discarding_oversized: return Outcome::dropped_oversized;
    case State::collecting:
      // A datagram is never empty: the smallest is a session header.
      return buffer_.empty() ? Outcome::dropped_malformed : Outcome::datagram;
    case State::idle: break;
  }
  return Outcome::dropped_malformed;  // unreachable: feed() left idle above
}

}  // namespace peermq::platform
