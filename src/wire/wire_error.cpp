#include "wire/wire_error.hpp"

namespace peermq::wire {

// The reader of these is an operator looking at drop counters or a log line: say what the
// peer sent and what is likely to fix it.
const char* describe(WireError e) {
  switch (e) {
    case WireError::truncated:
      return "message is cut short (it ends inside a value); it was dropped: the sender or a "
             "middlebox truncated it";
    case WireError::trailing_bytes:
      return "message has extra bytes after its end; it was dropped: the sender's framing is "
             "broken";
    case WireError::too_large:
      return "message is larger than the configured maximum; it was dropped: raise the limit "
             "on both peers or send smaller messages";
    case WireError::too_deep:
      return "message nests arrays or maps deeper than allowed; it was dropped: the peer does "
             "not speak this protocol version or is hostile";
    case WireError::too_many_entries:
      return "message has an array or map with more entries than allowed; it was dropped: "
             "split the data or raise the limit on both peers";
    case WireError::too_long:
      return "message has a string or binary value longer than allowed; it was dropped: "
             "shorten the value or raise the limit on both peers";
    case WireError::malformed:
      return "message is not valid msgpack; it was dropped: the peer does not speak this "
             "protocol";
    case WireError::wrong_type:
      return "message has a field of the wrong type; it was dropped: the peers run "
             "incompatible peermq versions";
    case WireError::missing_field:
      return "message lacks a required field; it was dropped: the peers run incompatible "
             "peermq versions";
    case WireError::out_of_range:
      return "message has a number outside its allowed range; it was dropped: check the "
             "sender's values and versions";
    case WireError::bad_utf8:
      return "message has a string that is not valid UTF-8; it was dropped: send text as "
             "UTF-8, or binary data as bin";
  }
  return "unknown wire error";
}

}  // namespace peermq::wire
