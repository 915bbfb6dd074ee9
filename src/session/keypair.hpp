// Keypair: the transport keys one handshake produced (WireGuard noise_keypair).
//
// Owned through std::unique_ptr by exactly one Session slot (current, previous or next);
// destroying it wipes both keys (CipherState holds them in Secrets). live() counts the
// keypairs in existence so tests can show that retired ones are really gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <peermq/clock.hpp>

#include "crypto/handshake_state.hpp"
#include "session/replay_window.hpp"

namespace peermq::session {

class Keypair {
 public:
  Keypair(crypto::TransportCiphers ciphers, std::uint32_t local, std::uint32_t remote,
          bool we_initiated, Instant at) noexcept
      : send(std::move(ciphers.send)),
        receive(std::move(ciphers.receive)),
        local_index(local),
        remote_index(remote),
        initiator(we_initiated),
        created(at) {
    live_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Keypair() { live_.fetch_sub(1, std::memory_order_relaxed); }
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  static std::size_t live() noexcept { return live_.load(std::memory_order_relaxed); }

  crypto::CipherState send;
  crypto::CipherState receive;
  ReplayWindow replay;
  std::uint64_t send_counter = 0;
  const std::uint32_t local_index;   // the index peers put in packets to us
  const std::uint32_t remote_index;  // the index we put in packets to the peer
  const bool initiator;              // we sent the initiation: we rekey on time and count
  const Instant created;

 private:
  static inline std::atomic<std::size_t> live_{0};
};

}  // namespace peermq::session
