#include "crypto/handshake_pattern.hpp"

#include <cassert>
#include <initializer_list>

namespace peermq::crypto {
namespace {

// The patterns in the spec's notation: pre-messages, then one string per message.
struct PatternText {
  std::string_view name;
  bool initiator_pre_s;
  bool responder_pre_s;
  std::initializer_list<std::string_view> messages;
};

const PatternText kPatterns[] = {
    {"N", false, true, {"e es"}},
    {"K", true, true, {"e es ss"}},
    {"X", false, true, {"e es s ss"}},
    {"NN", false, false, {"e", "e ee"}},
    {"NK", false, true, {"e es", "e ee"}},
    {"NX", false, false, {"e", "e ee s es"}},
    {"KN", true, false, {"e", "e ee se"}},
    {"KK", true, true, {"e es ss", "e ee se"}},
    {"KX", true, false, {"e", "e ee se s es"}},
    {"XN", false, false, {"e", "e ee", "s se"}},
    {"XK", false, true, {"e es", "e ee", "s se"}},
    {"XX", false, false, {"e", "e ee s es", "s se"}},
    {"IN", false, false, {"e s", "e ee se"}},
    {"IK", false, true, {"e es s ss", "e ee se"}},
    {"IX", false, false, {"e s", "e ee se s es"}},
};

NoiseToken parse_token(std::string_view word) {
  if (word == "e") return NoiseToken::e;
  if (word == "s") return NoiseToken::s;
  if (word == "ee") return NoiseToken::ee;
  if (word == "es") return NoiseToken::es;
  if (word == "se") return NoiseToken::se;
  assert(word == "ss" && "the pattern table holds only the six Noise tokens");
  return NoiseToken::ss;
}

}  // namespace

Result<HandshakePattern> HandshakePattern::find(std::string_view name) {
  for (const PatternText& text : kPatterns) {
    if (text.name != name) continue;
    HandshakePattern pattern;
    pattern.name_ = text.name;
    pattern.initiator_pre_s_ = text.initiator_pre_s;
    pattern.responder_pre_s_ = text.responder_pre_s;
    for (std::string_view line : text.messages) {
      Message& message = pattern.messages_[pattern.count_++];
      while (!line.empty()) {
        const std::size_t end = line.find(' ');
        message.tokens[message.count++] = parse_token(line.substr(0, end));
        line = end == std::string_view::npos ? std::string_view{} : line.substr(end + 1);
      }
    }
    return pattern;
  }
  return NoiseError::unknown_pattern;
}

bool HandshakePattern::needs_local_static(bool initiator) const noexcept {
  if (initiator ? initiator_pre_s_ : responder_pre_s_) return true;
  // A party's own static key takes part in "s" tokens it sends, and in the DH tokens
  // that name it: "se" uses the initiator's s, "es" the responder's, "ss" both.
  const NoiseToken own_dh = initiator ? NoiseToken::se : NoiseToken::es;
  for (std::size_t i = 0; i < count_; ++i) {
    const bool sent_by_me = (i % 2 == 0) == initiator;
    for (NoiseToken token : message(i)) {
      if (token == NoiseToken::ss || token == own_dh) return true;
      if (token == NoiseToken::s && sent_by_me) return true;
    }
  }
  return false;
}

}  // namespace peermq::crypto
