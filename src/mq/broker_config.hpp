// BrokerConfig: the bounds and timeouts a broker runs with, and their legal ranges.
//
// Every field has a default from wire/limits.hpp. validate() says whether the broker's
// parts can work with the values (its encodings and indexes assume the ranges it checks);
// Broker's constructor throws std::invalid_argument on a config that fails it. A copy is
// kept by the broker; `access`, when set, decides who may produce, consume and administer
// (mq/access_list.hpp). Plain data: any thread, no errors besides validate()'s bad_config.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "mq/access_list.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

struct BrokerConfig {
  Duration visibility_timeout = limits::kBrokerVisibilityTimeout;
  std::uint32_t max_deliveries = limits::kBrokerMaxDeliveries;  // 1..255
  std::uint64_t max_messages = limits::kBrokerQueueMaxMessages;
  std::uint64_t max_bytes = limits::kBrokerQueueMaxBytes;
  std::size_t max_payload = limits::kMaxPayload;  // payload + headers; <= limits::kMaxPayload
  Duration answer_ttl = limits::kAnswerTtlDefault;
  Duration dedupe_window = limits::kDedupeWindow;
  std::size_t dedupe_max_entries = limits::kDedupeMaxEntries;
  std::uint64_t compact_min_span = limits::kBrokerCompactMinSpan;
  std::optional<AccessList> access;  // none: everybody may do everything
  std::string name = "broker";       // for refusal texts

  // MqError::bad_config when a value is outside the range the broker supports.
  Result<void> validate() const;
};

}  // namespace peermq::mq
