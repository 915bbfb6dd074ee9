#include "crypto/handshake_state.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace peermq::crypto {
namespace {

using Bytes = std::span<const std::uint8_t>;

// Reads fixed-size fields off the front of a message, refusing to run past its end.
class Reader {
 public:
  explicit Reader(Bytes message) : rest_(message) {}
  Result<Bytes> take(std::size_t n) {
    if (rest_.size() < n) return NoiseError::message_too_short;
    Bytes field = rest_.first(n);
    rest_ = rest_.subspan(n);
    return field;
  }
  Bytes rest() const { return rest_; }

 private:
  Bytes rest_;
};

}  // namespace

HandshakeState::HandshakeState(const HandshakePattern& pattern, NoiseRole role,
                               SymmetricState symmetric)
    : pattern_(pattern), role_(role), progress_(std::move(symmetric)) {}

Result<HandshakeState> HandshakeState::create(const HandshakeConfig& config) {
  // Start-up, not protocol path: libsodium refusing to initialise is fatal.
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  auto pattern = HandshakePattern::find(config.pattern);
  if (!pattern) return pattern.error();
  const bool initiator = config.role == NoiseRole::initiator;
  if (pattern->needs_local_static(initiator) != config.local_static.has_value() ||
      pattern->needs_remote_static(initiator) != config.remote_static.has_value()) {
    const bool missing = (pattern->needs_local_static(initiator) && !config.local_static) ||
                         (pattern->needs_remote_static(initiator) && !config.remote_static);
    return missing ? NoiseError::missing_key : NoiseError::unexpected_key;
  }

  const std::string protocol_name =
      "Noise_" + std::string(pattern->name()) + "_25519_ChaChaPoly_BLAKE2b";
  HandshakeState state(*pattern, config.role, SymmetricState(protocol_name));
  if (config.local_static) {
    state.s_ = Secret<kNoiseDhLen>(*config.local_static);
    state.s_public_ =
        config.local_static_public ? *config.local_static_public : x25519_public_key(state.s_);
    state.has_s_ = true;
  }
  if (config.remote_static) {
    state.progress_.rs = *config.remote_static;
    state.progress_.has_rs = true;
  }
  if (config.fixed_ephemeral) {
    state.fixed_e_ = Secret<kNoiseDhLen>(*config.fixed_ephemeral);
    state.has_fixed_e_ = true;
  }
  state.progress_.symmetric.mix_hash(config.prologue);
  state.mix_premessages();
  return state;
}

void HandshakeState::mix_premessages() {
  // The initiator's pre-message is hashed before the responder's, whichever side we are.
  if (pattern_.initiator_static_premessage()) {
    progress_.symmetric.mix_hash(initiator() ? s_public_ : progress_.rs);
  }
  if (pattern_.responder_static_premessage()) {
    progress_.symmetric.mix_hash(initiator() ? progress_.rs : s_public_);
  }
}

HandshakeState::Progress HandshakeState::Progress::fork() const {
  Progress copy(symmetric.fork());
  copy.e = Secret<kNoiseDhLen>(e.span());
  copy.e_public = e_public;
  copy.has_e = has_e;
  copy.re = re;
  copy.has_re = has_re;
  copy.rs = rs;
  copy.has_rs = has_rs;
  return copy;
}

bool HandshakeState::is_my_turn() const noexcept {
  return !is_complete() && (next_message_ % 2 == 0) == initiator();
}

Result<void> HandshakeState::check_turn(bool writing) const {
  if (split_done_ || is_complete()) return NoiseError::handshake_over;
  if (is_my_turn() != writing) return NoiseError::wrong_turn;
  return {};
}

Result<void> HandshakeState::write_message(std::span<const std::uint8_t> payload,
                                           std::vector<std::uint8_t>& out) {
  if (auto turn = check_turn(true); !turn) return turn;
  if (payload.size() > kNoiseMaxMessage) return NoiseError::message_too_long;
  Progress trial = progress_.fork();
  const std::size_t start = out.size();
  Result<void> written = write_tokens(trial, payload, out);
  if (written && out.size() - start > kNoiseMaxMessage) written = NoiseError::message_too_long;
  if (!written) {
    out.resize(start);
    return written;
  }
  progress_ = std::move(trial);
  ++next_message_;
  return {};
}

Result<void> HandshakeState::read_message(std::span<const std::uint8_t> message,
                                          std::vector<std::uint8_t>& payload_out) {
  if (auto turn = check_turn(false); !turn) return turn;
  if (message.size() > kNoiseMaxMessage) return NoiseError::message_too_long;
  Progress trial = progress_.fork();
  const std::size_t start = payload_out.size();
  if (auto read = read_tokens(trial, message, payload_out); !read) {
    payload_out.resize(start);
    return read;
  }
  progress_ = std::move(trial);
  ++next_message_;
  return {};
}

Result<void> HandshakeState::write_tokens(Progress& p, std::span<const std::uint8_t> payload,
                                          std::vector<std::uint8_t>& out) const {
  for (NoiseToken token : pattern_.message(next_message_)) {
    if (token == NoiseToken::e) {
      if (has_fixed_e_) {
        p.e = Secret<kNoiseDhLen>(fixed_e_.span());
      } else {
        randombytes_buf(p.e.data(), kNoiseDhLen);
      }
      p.e_public = x25519_public_key(p.e);
      p.has_e = true;
      out.insert(out.end(), p.e_public.begin(), p.e_public.end());
      p.symmetric.mix_hash(p.e_public);
    } else if (token == NoiseToken::s) {
      if (auto r = p.symmetric.encrypt_and_hash(s_public_, out); !r) return r;
    } else if (auto r = mix_dh(p, token); !r) {
      return r;
    }
  }
  return p.symmetric.encrypt_and_hash(payload, out);
}

Result<void> HandshakeState::read_tokens(Progress& p, std::span<const std::uint8_t> message,
                                         std::vector<std::uint8_t>& payload_out) const {
  Reader reader(message);
  for (NoiseToken token : pattern_.message(next_message_)) {
    if (token == NoiseToken::e) {
      auto re = reader.take(kNoiseDhLen);
      if (!re) return re.error();
      std::copy(re->begin(), re->end(), p.re.begin());
      p.has_re = true;
      p.symmetric.mix_hash(p.re);
    } else if (token == NoiseToken::s) {
      auto sealed = reader.take(kNoiseDhLen + (p.symmetric.has_key() ? kNoiseTagLen : 0));
      if (!sealed) return sealed.error();
      std::vector<std::uint8_t> rs;
      if (auto r = p.symmetric.decrypt_and_hash(*sealed, rs); !r) return r;
      std::copy(rs.begin(), rs.end(), p.rs.begin());
      p.has_rs = true;
    } else if (auto r = mix_dh(p, token); !r) {
      return r;
    }
  }
  return p.symmetric.decrypt_and_hash(reader.rest(), payload_out);
}

Result<void> HandshakeState::mix_dh(Progress& p, NoiseToken token) const {
  // es: the initiator's ephemeral with the responder's static; se: the reverse.
  const bool my_ephemeral = token == NoiseToken::ee || (token == NoiseToken::es && initiator()) ||
                            (token == NoiseToken::se && !initiator());
  const bool their_ephemeral = token == NoiseToken::ee ||
                               (token == NoiseToken::es && !initiator()) ||
                               (token == NoiseToken::se && initiator());
  const bool have_mine = my_ephemeral ? p.has_e : has_s_;
  const bool have_theirs = their_ephemeral ? p.has_re : p.has_rs;
  // Unreachable with the built-in patterns and a config create() accepted.
  if (!have_mine || !have_theirs) return NoiseError::missing_key;
  auto shared = x25519(my_ephemeral ? p.e : s_, their_ephemeral ? p.re : p.rs);
  if (!shared) return shared.error();
  p.symmetric.mix_key(shared->span());
  return {};
}

Result<TransportCiphers> HandshakeState::split() {
  if (split_done_) return NoiseError::handshake_over;
  if (!is_complete()) return NoiseError::handshake_incomplete;
  auto [c1, c2] = progress_.symmetric.split();
  split_done_ = true;
  s_.wipe();
  fixed_e_.wipe();
  progress_.e.wipe();
  if (pattern_.one_way()) c2 = CipherState();  // the spec discards c2 in one-way patterns
  if (initiator()) return TransportCiphers{std::move(c1), std::move(c2)};
  return TransportCiphers{std::move(c2), std::move(c1)};
}

std::optional<NoisePublicKey> HandshakeState::remote_static() const {
  if (!progress_.has_rs) return std::nullopt;
  return progress_.rs;
}

}  // namespace peermq::crypto
