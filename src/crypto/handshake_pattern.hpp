// HandshakePattern: the token program of one Noise handshake pattern (Noise §7).
//
// The suite needs only the fundamental patterns without PSKs: the one-way N, K, X and the
// interactive NN, NK, NX, KN, KK, KX, XN, XK, XX, IN, IK, IX. Message i (from 0) is sent
// by the initiator when i is even and by the responder when it is odd.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <peermq/result.hpp>

#include "crypto/noise_error.hpp"

namespace peermq::crypto {

enum class NoiseToken : std::uint8_t { e, s, ee, es, se, ss };

class HandshakePattern {
 public:
  static constexpr std::size_t kMaxMessages = 3;
  static constexpr std::size_t kMaxTokens = 5;

  // The pattern called `name` ("IK", "XX", ...), or unknown_pattern.
  static Result<HandshakePattern> find(std::string_view name);

  std::string_view name() const noexcept { return name_; }
  // Pre-messages: whether the initiator's / responder's static key is known in advance.
  bool initiator_static_premessage() const noexcept { return initiator_pre_s_; }
  bool responder_static_premessage() const noexcept { return responder_pre_s_; }
  bool one_way() const noexcept { return count_ == 1; }
  std::size_t message_count() const noexcept { return count_; }
  std::span<const NoiseToken> message(std::size_t index) const noexcept {
    return std::span<const NoiseToken>(messages_[index].tokens).first(messages_[index].count);
  }
  // Whether the party in the given role ever sends its static key with an "s" token,
  // or the pattern otherwise needs that static key (pre-message or DH).
  bool needs_local_static(bool initiator) const noexcept;
  // Whether the party must know the peer's static key before the handshake starts.
  bool needs_remote_static(bool initiator) const noexcept {
    return initiator ? responder_pre_s_ : initiator_pre_s_;
  }

 private:
  struct Message {
    std::array<NoiseToken, kMaxTokens> tokens{};
    std::size_t count = 0;
  };

  std::string_view name_;
  bool initiator_pre_s_ = false;
  bool responder_pre_s_ = false;
  std::array<Message, kMaxMessages> messages_{};
  std::size_t count_ = 0;
};

}  // namespace peermq::crypto
