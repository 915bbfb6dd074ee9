#include <peermq/queue_error.hpp>

namespace peermq {

const char* describe(QueueError e) {
  switch (e) {
    case QueueError::invalid_options: return "an option is missing or malformed";
    case QueueError::not_started: return "not started: call start() first";
    case QueueError::stopped: return "stopped";
    case QueueError::loop_busy:
      return "the event loop is running already: call this from outside its callbacks";
    case QueueError::refused: return "the broker refused this client";
    case QueueError::not_allowed: return "the broker's access list does not allow it";
    case QueueError::too_large: return "the message is larger than the broker accepts";
    case QueueError::bad_message: return "a command name, TTL or priority outside the limits";
    case QueueError::would_block:
      return "the in-flight window is full: publish again once an answer came";
    case QueueError::timed_out: return "no answer in time";
    case QueueError::storage_failed: return "the broker's log could not write";
    case QueueError::not_held:
      return "the delivery is no longer held: answered already, or delivered before a "
             "reconnect (the broker delivers the message again)";
  }
  return "unknown queue error";
}

}  // namespace peermq
