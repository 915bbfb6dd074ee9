#include "session/cookie.hpp"

#include <sodium.h>

#include <string_view>

#include "session/session_config.hpp"

namespace peermq::session {
namespace {

using Bytes = std::span<const std::uint8_t>;

// BLAKE2b-256(label || public key): the labels keep the two keys apart.
std::array<std::uint8_t, 32> derive_key(std::string_view label, const X25519PublicKey& key) {
  std::array<std::uint8_t, 32> out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(label.data()),
                            label.size());
  crypto_generichash_update(&st, key.data(), key.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Mac keyed_mac(Bytes key, Bytes message) {
  Mac out{};
  crypto_generichash(out.data(), out.size(), message.data(), message.size(), key.data(),
                     key.size());
  return out;
}

Mac compute_mac1(const std::array<std::uint8_t, 32>& key, Bytes packet) {
  return keyed_mac(key, packet.first(mac1_offset(packet.size())));
}

bool mac_equal(const Mac& expected, Bytes got) {
  return sodium_memcmp(expected.data(), got.data(), expected.size()) == 0;
}

}  // namespace

CookieChecker::CookieChecker(const X25519PublicKey& local_public, Duration secret_lifetime)
    : mac1_key_(derive_key("mac1----", local_public)),
      cookie_key_(derive_key("cookie--", local_public)),
      secret_lifetime_(secret_lifetime) {}

bool CookieChecker::mac1_valid(Bytes packet) const {
  if (packet.size() < kMacsSize + kHeaderSize) return false;
  return mac_equal(compute_mac1(mac1_key_, packet), packet.subspan(mac1_offset(packet.size()),
                                                                  kMacSize));
}

Mac CookieChecker::cookie_for(const Endpoint& source, Instant now) {
  // A new secret every lifetime: a cookie leaked or harvested stops working soon.
  if (!has_secret_ || now - secret_born_ >= secret_lifetime_) {
    randombytes_buf(secret_.data(), secret_.size());
    secret_born_ = now;
    has_secret_ = true;
  }
  std::array<std::uint8_t, 18> where{};
  const auto ip = source.ip16();
  std::copy(ip.begin(), ip.end(), where.begin());
  where[16] = static_cast<std::uint8_t>(source.port());
  where[17] = static_cast<std::uint8_t>(source.port() >> 8);
  return keyed_mac(secret_.span(), where);
}

bool CookieChecker::mac2_valid(Bytes packet, const Endpoint& source, Instant now) {
  if (packet.size() < kMacsSize + kHeaderSize) return false;
  const Mac cookie = cookie_for(source, now);
  const Mac expected = keyed_mac(cookie, packet.first(mac2_offset(packet.size())));
  return mac_equal(expected, packet.subspan(mac2_offset(packet.size()), kMacSize));
}

std::vector<std::uint8_t> CookieChecker::make_reply(Bytes packet, std::uint32_t receiver_index,
                                                    const Endpoint& source, Instant now) {
  Mac cookie = cookie_for(source, now);
  std::array<std::uint8_t, kCookieNonceSize> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  std::array<std::uint8_t, kEncryptedCookieSize> sealed{};
  const Bytes mac1 = packet.subspan(mac1_offset(packet.size()), kMacSize);
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), nullptr, cookie.data(), cookie.size(),
                                             mac1.data(), mac1.size(), nullptr, nonce.data(),
                                             cookie_key_.data());
  sodium_memzero(cookie.data(), cookie.size());
  return encode_cookie_reply(receiver_index, nonce, sealed);
}

CookieMaker::CookieMaker(const X25519PublicKey& remote_public, Duration secret_lifetime)
    : remote_(remote_public), secret_lifetime_(secret_lifetime) {}

bool CookieMaker::has_cookie(Instant now) const {
  return has_cookie_ && now - cookie_born_ < secret_lifetime_ - Duration(limits::kCookieLatency);
}

void CookieMaker::add_macs(std::span<std::uint8_t> packet, Instant now) {
  const std::size_t at1 = mac1_offset(packet.size());
  last_mac1_ = compute_mac1(derive_key("mac1----", remote_), packet);
  std::copy(last_mac1_.begin(), last_mac1_.end(), packet.begin() + static_cast<std::ptrdiff_t>(at1));
  has_sent_mac1_ = true;
  const std::size_t at2 = mac2_offset(packet.size());
  Mac mac2{};
  if (has_cookie(now)) mac2 = keyed_mac(cookie_.span(), packet.first(at2));
  std::copy(mac2.begin(), mac2.end(), packet.begin() + static_cast<std::ptrdiff_t>(at2));
}

Result<void> CookieMaker::consume_reply(const CookieReply& reply, Instant now) {
  // Only one reply per packet sent: a second one is a replay or someone else's.
  if (!has_sent_mac1_) return SessionError::bad_cookie_reply;
  Secret<limits::kCookieSize> cookie;
  unsigned long long size = 0;
  const std::array<std::uint8_t, 32> cookie_key = derive_key("cookie--", remote_);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          cookie.data(), &size, nullptr, reply.encrypted_cookie.data(),
          reply.encrypted_cookie.size(), last_mac1_.data(), last_mac1_.size(),
          reply.nonce.data(), cookie_key.data()) != 0 ||
      size != cookie.size()) {
    return SessionError::bad_cookie_reply;
  }
  cookie_ = std::move(cookie);
  cookie_born_ = now;
  has_cookie_ = true;
  has_sent_mac1_ = false;
  return {};
}

}  // namespace peermq::session
