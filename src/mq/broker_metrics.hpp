// BrokerMetrics: the broker's counters and gauges, registered once in a Counters registry
// under their Prometheus names (mq_*_total counters, mq_* gauges).
//
// The broker's parts each take the one instance their owner (Broker) made and count what
// they do through it; the registry owns the metrics and must outlive this struct, which
// only holds references. Levels (gauges) are set by Broker after each call from the
// runtime. Single-threaded, like the broker.
#pragma once

#include <peermq/counters.hpp>

#include "metrics/counter_registry.hpp"

namespace peermq::mq {

struct BrokerMetrics {
  explicit BrokerMetrics(CounterRegistry c);
  BrokerMetrics(const BrokerMetrics&) = delete;
  BrokerMetrics& operator=(const BrokerMetrics&) = delete;

  Counter& published;
  Counter& duplicates;
  Counter& confirmed;
  Counter& nacked_queue_full;
  Counter& nacked_too_large;
  Counter& nacked_not_allowed;
  Counter& delivered;
  Counter& redelivered;
  Counter& answered;
  Counter& rejected;
  Counter& visibility_timeouts;
  Counter& expired;
  Counter& dead_lettered;
  Counter& dlq_requeued;
  Counter& dlq_purged;
  Counter& answers_sent;
  Counter& answers_expired;
  Counter& refused;
  Counter& malformed;
  Counter& dropped;
  Counter& send_blocked;
  Counter& replay_errors;
  Counter& relocated;
  Counter& dedupe_early_turns;
  Gauge& stored_messages;
  Gauge& stored_bytes;
  Gauge& ready;
  Gauge& in_flight;
  Gauge& dead_letters;
  Gauge& stored_answers;
  Gauge& consumers;
};

}  // namespace peermq::mq
