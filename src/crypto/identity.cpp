#include <peermq/identity.hpp>

#include <stdexcept>

#include <sodium.h>

namespace peermq {

static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeySize);
static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_SEEDBYTES == kSeedSize);
static_assert(crypto_sign_BYTES == kSignatureSize);
static_assert(crypto_scalarmult_curve25519_BYTES == 32);

void crypto_init() {
  // A function-local static: C++ runs the initialiser exactly once, even when threads race.
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise (sodium_init)");
}

Identity Identity::generate() {
  crypto_init();
  Secret<kSeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed);
}

Identity Identity::from_seed(const Secret<kSeedSize>& seed) {
  crypto_init();
  Identity id;
  crypto_sign_seed_keypair(id.public_key_.data(), id.secret_key_.data(), seed.data());
  crypto_sign_ed25519_sk_to_curve25519(id.x25519_secret_.data(), id.secret_key_.data());
  // The same key crypto_sign_ed25519_pk_to_curve25519(public_key_) gives (the tests check
  // it), but computed from the secret: a fixed-base multiplication is several times
  // cheaper than that function's subgroup check, and the pair is consistent by
  // construction. It cannot fail: the clamped secret is never zero.
  if (crypto_scalarmult_curve25519_base(id.x25519_public_.data(), id.x25519_secret_.data()) != 0)
    throw std::logic_error("X25519 public key of an Ed25519 secret was the identity");
  return id;
}

Secret<kSeedSize> Identity::seed() const noexcept {
  Secret<kSeedSize> seed;
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_key_.data());
  return seed;
}

Signature Identity::sign(std::span<const std::uint8_t> message) const noexcept {
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       secret_key_.data());
  return signature;
}

bool Identity::verify(const PublicKey& signer, std::span<const std::uint8_t> message,
                      const Signature& signature) noexcept {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     signer.data()) == 0;
}

}  // namespace peermq
