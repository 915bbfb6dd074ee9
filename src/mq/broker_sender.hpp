// BrokerSender: how every part of the broker sends a queue message to a peer, and the
// BrokerOutbox interface the runtime implements underneath.
//
// A peer's send buffer can fill up. The first send() that the outbox refuses marks the
// peer's PeerLink blocked, and every later send to it fails at once (counted in
// mq_send_blocked_total) without asking the outbox, until the owner clears `blocked` on
// BrokerOutbox's on_writable signal. So a blocked peer costs one refused call, and a part
// that gets false keeps what it meant to send (a delivery goes back to its queue, an answer
// stays unsent) and sends it again when the peer is writable.
//
// Ownership: send() encodes into one reused buffer (no allocation per message once it has
// grown) and hands the outbox a view of it, valid only during the call: the outbox copies.
// The outbox, the counter and every PeerLink outlive the sender's use of them. The outbox
// may not call back into the broker. Single-threaded.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>

#include "mq/mq_message.hpp"

namespace peermq::mq {

class BrokerOutbox {
 public:
  virtual ~BrokerOutbox() = default;
  // Queues a copy of `message` for `peer`; false if its send buffer is full (dropped).
  virtual bool send(const PublicKey& peer, std::span<const std::uint8_t> message) = 0;
  // A line for the operator's log: refusals, malformed input, dead letters.
  virtual void report(const PublicKey& peer, std::string_view what) {
    (void)peer;
    (void)what;
  }

 protected:
  BrokerOutbox() = default;
  BrokerOutbox(const BrokerOutbox&) = default;
  BrokerOutbox& operator=(const BrokerOutbox&) = default;
};

// The part of a peer's connection a sender needs: who, and whether its buffer was full.
struct PeerLink {
  PublicKey key{};
  bool blocked = false;  // a send failed: nothing more goes out until it is writable
};

class BrokerSender {
 public:
  BrokerSender(BrokerOutbox& outbox, Counter& send_blocked) noexcept
      : outbox_(outbox), send_blocked_(send_blocked) {}
  BrokerSender(const BrokerSender&) = delete;
  BrokerSender& operator=(const BrokerSender&) = delete;

  // Encodes `message` (any queue message type of mq_message.hpp) and sends it to `link`.
  // False, and `link` blocked, if the peer's send buffer is full: the message is dropped.
  template <class M>
  bool send(PeerLink& link, const M& message) {
    scratch_.clear();
    encode(message, scratch_);
    if (link.blocked || !outbox_.send(link.key, scratch_)) {
      link.blocked = true;
      send_blocked_.inc();
      return false;
    }
    return true;
  }

  void report(const PublicKey& peer, std::string_view what) { outbox_.report(peer, what); }

 private:
  BrokerOutbox& outbox_;
  Counter& send_blocked_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace peermq::mq
