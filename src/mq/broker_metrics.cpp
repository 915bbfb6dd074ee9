#include "mq/broker_metrics.hpp"

namespace peermq::mq {

BrokerMetrics::BrokerMetrics(CounterRegistry c)
    : published(c.counter("mq_published_total", "Messages stored (first publish of an id).")),
      duplicates(c.counter("mq_duplicate_publishes_total",
                           "Publishes of an id already stored: confirmed, not stored again.")),
      confirmed(c.counter("mq_confirms_sent_total", "Confirms sent to producers.")),
      nacked_queue_full(
          c.counter("mq_nack_queue_full_total", "Publishes refused because the queue was full.")),
      nacked_too_large(c.counter("mq_nack_too_large_total",
                                 "Publishes refused for payload and headers too large.")),
      nacked_not_allowed(
          c.counter("mq_nack_not_allowed_total", "Publishes refused by the access list.")),
      delivered(c.counter("mq_deliveries_total", "Messages delivered to consumers.")),
      redelivered(c.counter("mq_redeliveries_total", "Deliveries of a message delivered before.")),
      answered(c.counter("mq_answers_total", "Deliveries answered by consumers.")),
      rejected(c.counter("mq_rejects_total", "Deliveries rejected by consumers.")),
      visibility_timeouts(c.counter("mq_visibility_timeouts_total",
                                    "Deliveries not answered within the visibility timeout.")),
      expired(c.counter("mq_expired_total", "Messages dropped undelivered because of TTL.")),
      dead_lettered(
          c.counter("mq_dead_lettered_total", "Messages moved to the dead-letter queue.")),
      dlq_requeued(c.counter("mq_dlq_requeued_total", "Dead letters requeued by an admin.")),
      dlq_purged(c.counter("mq_dlq_purged_total", "Dead letters purged by an admin.")),
      answers_sent(c.counter("mq_answers_sent_total", "Answers sent to producers.")),
      answers_expired(c.counter("mq_answers_expired_total",
                                "Answers dropped because their producer did not fetch them.")),
      refused(c.counter("mq_refused_total", "Hellos refused (access list, version).")),
      malformed(c.counter("mq_malformed_total", "Queue messages that did not decode.")),
      dropped(c.counter("mq_dropped_total",
                        "Queue messages dropped: wrong role, unknown delivery or answer.")),
      send_blocked(c.counter("mq_send_blocked_total",
                             "Messages not sent because a peer's send buffer was full.")),
      replay_errors(c.counter("mq_replay_errors_total",
                              "Journal records skipped at recovery because they did not "
                              "decode.")),
      relocated(c.counter("mq_relocated_total",
                          "Old live records rewritten at the journal's head (compaction).")),
      dedupe_early_turns(c.counter("mq_dedupe_early_turns_total",
                                   "Dedupe generations cut short by dedupe_max_entries.")),
      stored_messages(c.gauge("mq_stored_messages", "Messages stored (any state).")),
      stored_bytes(c.gauge("mq_stored_bytes", "Bytes of stored payloads, headers, answers.")),
      ready(c.gauge("mq_ready_messages", "Messages waiting for a consumer.")),
      in_flight(c.gauge("mq_in_flight_messages", "Messages delivered, not yet answered.")),
      dead_letters(c.gauge("mq_dead_letters", "Messages in the dead-letter queue.")),
      stored_answers(c.gauge("mq_stored_answers", "Answers waiting for their producer.")),
      consumers(c.gauge("mq_consumers", "Consumers connected.")) {}

}  // namespace peermq::mq
