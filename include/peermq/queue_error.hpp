// QueueError: why a call of peermq's queue API (Broker, Consumer, Delivery, Producer,
// Relay, Pinger, EventLoop) failed. Errors from below (a key file, the log's disk, the
// network) come back as their own std::error_code; message() says what happened and the
// optional `detail` strings of start() and run() say what to do.
#pragma once

#include <system_error>

#include <peermq/result.hpp>

namespace peermq {

enum class QueueError {
  invalid_options = 1,  // an option is missing or malformed: detail names it
  not_started,          // the call needs start() to have succeeded
  stopped,              // stopped: it will not start again, and what it waited for is given up
  loop_busy,            // run() or request() while its loop is already running
  refused,              // the broker refused this client (access list, version): detail says why
  not_allowed,          // the broker's access list forbids publishing this command
  too_large,            // payload plus headers exceed what the broker takes
  bad_message,          // a command name, TTL or priority outside the limits
  would_block,          // `inflight` messages already await their answers: publish later
  timed_out,            // no answer within the time given
  storage_failed,       // the broker's log could not write: restart it (detail says why)
  not_held,             // a Delivery answered already, or from before a reconnect
};
const char* describe(QueueError e);
inline const char* category_name(QueueError) {
  return "peermq.queue";
}
PEERMQ_ERROR_ENUM(QueueError)

}  // namespace peermq

PEERMQ_ERROR_ENUM_STD(peermq::QueueError)
