// DoS cookies and handshake macs (WireGuard cookie.c, with BLAKE2b).
//
// Every handshake packet ends in mac1 and mac2:
//   mac1 = BLAKE2b-128(key = BLAKE2b-256("mac1----" || receiver's X25519 public key),
//                      packet up to mac1)
//   mac2 = BLAKE2b-128(key = cookie, packet up to mac2), or zeros without a cookie
//   cookie = BLAKE2b-128(key = rotating random secret, source IP || port)
// mac1 proves the sender knows the receiver's public key (its address), so a responder
// can refuse junk before any X25519 work. Under load, mac2 proves the sender can receive
// at its source address; one that cannot gets a cookie reply, which carries the cookie
// encrypted with XChaCha20-Poly1305 under BLAKE2b-256("cookie--" || responder key), bound
// (as AD) to the mac1 of the packet it answers, so only that packet's sender can use it.
//
// CookieChecker is the receiving side (one per endpoint, keyed by our own public key);
// CookieMaker the sending side (one per peer, keyed by the peer's public key).
// Neither does I/O; both are single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>
#include <peermq/secret.hpp>

#include "session/packet.hpp"
#include "wire/endpoint.hpp"

namespace peermq::session {

using Mac = std::array<std::uint8_t, kMacSize>;

class CookieChecker {
 public:
  CookieChecker(const X25519PublicKey& local_public, Duration secret_lifetime);

  // Whether the handshake packet (whole, macs included) carries a valid mac1. Cheap: one
  // BLAKE2b over at most 180 bytes.
  bool mac1_valid(std::span<const std::uint8_t> packet) const;
  // Whether it carries a valid mac2 for the cookie `source` would get now. Rotates the
  // secret when it is older than its lifetime.
  bool mac2_valid(std::span<const std::uint8_t> packet, const Endpoint& source,
                  Instant now);
  // The cookie reply to send back to `source` for `packet` (which must have a valid
  // mac1): addressed to the packet's sender index, kCookieReplySize bytes.
  std::vector<std::uint8_t> make_reply(std::span<const std::uint8_t> packet,
                                       std::uint32_t receiver_index, const Endpoint& source,
                                       Instant now);

 private:
  Mac cookie_for(const Endpoint& source, Instant now);

  std::array<std::uint8_t, 32> mac1_key_{};
  std::array<std::uint8_t, 32> cookie_key_{};
  Secret<32> secret_;
  Instant secret_born_{};
  bool has_secret_ = false;
  Duration secret_lifetime_;
};

// One per peer, so it keeps only the peer's key and derives the mac1 and cookie keys from
// it when a handshake packet goes out or a cookie reply comes in (two BLAKE2b calls, next
// to a handshake's X25519 work): 64 bytes less for each of a node's many idle peers.
class CookieMaker {
 public:
  CookieMaker(const X25519PublicKey& remote_public, Duration secret_lifetime);

  const X25519PublicKey& remote_public() const noexcept { return remote_; }

  // Fills in mac1 and mac2 of a handshake packet for the peer; remembers mac1 so that a
  // cookie reply to this packet can be opened.
  void add_macs(std::span<std::uint8_t> packet, Instant now);
  // Takes the cookie out of a reply to the last packet add_macs() marked. Errors:
  // bad_cookie_reply (nothing sent, already consumed, or forged).
  Result<void> consume_reply(const CookieReply& reply, Instant now);
  bool has_cookie(Instant now) const;

 private:
  X25519PublicKey remote_;
  Secret<limits::kCookieSize> cookie_;
  Instant cookie_born_{};
  Mac last_mac1_{};
  bool has_cookie_ = false;
  bool has_sent_mac1_ = false;
  Duration secret_lifetime_;
};

}  // namespace peermq::session
