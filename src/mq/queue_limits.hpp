// QueueLimits: what a broker admits — who may say hello in which role, which publishes it
// stores — decided from its config (bounds, access list) and the levels it is at.
//
// A policy with no state of its own: the parts that store things count them, and the
// broker passes the counts in. Its answers, in the order the broker asks:
//   hello      refusal(): a text when the access list forbids the role (a producer that
//              may produce nothing, a consumer of a command it may not consume, an admin
//              without the grant); empty when allowed. No access list: all allowed.
//   publish    admit(): not_allowed (the command is not the key's to produce), too_large
//              (payload plus headers above max_payload), queue_full (max_messages stored
//              messages, or as many answers not yet fetched, or max_bytes of stored
//              payloads and answers reached): the producer is told to slow down, nothing
//              is dropped. explain() gives the text sent with the nack.
// Holds a reference to the broker's config, which outlives it. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <peermq/address.hpp>

#include "mq/access_list.hpp"
#include "mq/broker_config.hpp"
#include "mq/mq_message.hpp"

namespace peermq::mq {

// How full the queue is.
struct QueueLevels {
  std::uint64_t messages = 0;  // stored, in any state
  std::uint64_t answers = 0;   // stored, not yet fetched
  std::uint64_t bytes = 0;     // payloads, headers and answers
};

enum class Admission : std::uint8_t { admitted, not_allowed, too_large, queue_full };

class QueueLimits {
 public:
  explicit QueueLimits(const BrokerConfig& config) noexcept : config_(config) {}

  // Whether an access list is checked at all.
  bool checked() const noexcept { return config_.access.has_value(); }
  // What `key` may do; an empty grant when nothing is checked.
  Grant grant(const PublicKey& key) const {
    return config_.access ? config_.access->grant(key) : Grant{};
  }
  // Empty if `grant` allows saying hello as `role` (for a consumer: to every command of
  // `commands`); else the refusal text.
  std::string refusal(const Grant& grant, Role role,
                      std::span<const std::string_view> commands) const;

  // Whether to store a publish of `command` with `size` bytes of payload and headers.
  Admission admit(const Grant& grant, std::string_view command, std::size_t size,
                  const QueueLevels& levels) const {
    if (config_.access && !grant.may_produce(command)) return Admission::not_allowed;
    if (size > config_.max_payload) return Admission::too_large;
    if (levels.messages >= config_.max_messages || levels.answers >= config_.max_messages ||
        levels.bytes + size > config_.max_bytes) {
      return Admission::queue_full;
    }
    return Admission::admitted;
  }
  // The text for a refused publish. queue_full, the one a busy queue sends often, is a
  // constant: no allocation per nack.
  std::string explain(Admission a, std::string_view command, std::size_t size) const;
  static constexpr std::string_view kQueueFull = "queue full: slow down and publish again";

 private:
  const BrokerConfig& config_;
};

// "command \"name\"", or "messages without a command" for the empty name.
std::string quoted_command(std::string_view command);

}  // namespace peermq::mq
