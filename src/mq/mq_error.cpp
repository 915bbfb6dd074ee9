#include "mq/mq_error.hpp"

namespace peermq::mq {

// Read by an operator looking at a drop counter or a log line: say what happened and what
// is likely to fix it.
const char* describe(MqError e) {
  switch (e) {
    case MqError::unknown_message_type:
      return "queue message has an unknown type; it was dropped: upgrade the older peer";
    case MqError::bad_enum:
      return "queue message has a role, reason, status or action this version does not know; "
             "it was dropped: upgrade the older peer";
    case MqError::bad_command:
      return "command name has a character outside printable ASCII or a '*'; use names like "
             "\"users.get\"";
    case MqError::bad_key:
      return "queue message carries a public key that is not 32 bytes; it was dropped: the "
             "peer is broken or hostile";
    case MqError::unknown_record_type:
      return "journal record has an unknown type; it was skipped: the log was written by a "
             "newer broker or is corrupt";
    case MqError::bad_sequence:
      return "journal record sequence number is zero or not above the previous one; it was "
             "skipped: the log is corrupt";
    case MqError::unexpected_message:
      return "queue message of a type this side never accepts; it was dropped: the peer "
             "confuses roles";
    case MqError::hello_required:
      return "queue message needs a role the peer has not said hello as; it was dropped: send "
             "hello with that role first";
    case MqError::bad_version:
      return "peer speaks an older queue protocol; upgrade it";
    case MqError::unknown_delivery:
      return "answer or reject names a delivery this consumer does not hold (answered already, "
             "timed out or from before a reconnect); it was ignored and the message will be "
             "or was redelivered";
    case MqError::unknown_answer:
      return "answer_received names an answer the broker does not hold (received or expired "
             "already); it was ignored";
    case MqError::not_allowed:
      return "the broker's access list does not allow this key to do that; ask the broker's "
             "operator to add it";
    case MqError::would_block:
      return "producer has as many unanswered messages as its in-flight limit; wait for "
             "answers or raise -inflight";
    case MqError::refused:
      return "the broker refused this client; see its refusal text";
    case MqError::too_large:
      return "message payload and headers exceed the largest message the queue carries; send "
             "smaller messages";
    case MqError::bad_publish:
      return "publish has a priority, TTL, command or headers outside the protocol limits";
    case MqError::bad_config:
      return "queue configuration value outside the supported range";
  }
  return "unknown queue error";
}

}  // namespace peermq::mq
