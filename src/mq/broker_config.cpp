#include "mq/broker_config.hpp"

#include "mq/mq_error.hpp"

namespace peermq::mq {

// Why these ranges: delivery counts are kept in a byte; the ring of message slots links by
// 32-bit offsets, so a queue stays well below 2^32 slots (max_messages, compaction span).
Result<void> BrokerConfig::validate() const {
  const bool ok = visibility_timeout > Duration::zero() && max_deliveries >= 1 &&
                  max_deliveries <= 255 && max_messages >= 1 &&
                  max_messages <= (std::uint64_t{1} << 29) && max_bytes >= 1 && max_payload >= 1 &&
                  max_payload <= limits::kMaxPayload && answer_ttl > Duration::zero() &&
                  dedupe_window > Duration::zero() && dedupe_max_entries >= 1 &&
                  compact_min_span >= 1 && compact_min_span <= (std::uint64_t{1} << 30);
  if (!ok) return MqError::bad_config;
  return {};
}

}  // namespace peermq::mq
