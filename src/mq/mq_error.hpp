// MqError: why the queue layer dropped a peer's message or refused a local call.
//
// Decoder errors (unknown_message_type .. bad_sequence) mean the bytes were dropped
// whole before any state changed; wire::WireError covers malformed msgpack underneath.
// Broker drops (unexpected_message .. not_allowed) are counted by the broker and returned
// from Broker::on_message so the runtime can log them; the peer's stored data is untouched.
// The rest answer calls of the application on ProducerCore / ConsumerCore.
#pragma once

#include <peermq/result.hpp>

namespace peermq::mq {

enum class MqError {
  unknown_message_type = 1,  // a message tag this version does not know
  bad_enum,                  // a role, reason, status or action value this version lacks
  bad_command,               // a command name with a character outside '!'..'~' or a '*'
  bad_key,                   // a public key field that is not 32 bytes
  unknown_record_type,       // a journal record tag this version does not know
  bad_sequence,              // a journal record whose seq is 0 or not above the last one
  unexpected_message,        // a message the receiver never accepts (deliver to a broker)
  hello_required,            // the message needs a role the peer has not said hello as
  bad_version,               // the peer speaks an older queue protocol
  unknown_delivery,          // answer/reject for a delivery this consumer does not hold
  unknown_answer,            // answer_received for an answer the broker does not hold
  not_allowed,               // the access list forbids it
  would_block,               // the producer's in-flight window is full: wait for answers
  refused,                   // the broker refused our hello
  too_large,                 // payload plus headers exceed max_payload
  bad_publish,               // priority, TTL, command or headers outside the limits
  bad_config,                // a configuration value outside what the core supports
};
const char* describe(MqError e);
inline const char* category_name(MqError) { return "peermq.mq"; }
PEERMQ_ERROR_ENUM(MqError)

}  // namespace peermq::mq

PEERMQ_ERROR_ENUM_STD(peermq::mq::MqError)
