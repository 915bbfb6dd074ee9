// WireError: why a peer's bytes were rejected by a wire decoder.
//
// A decoder that returns one of these has read nothing past its input and kept nothing
// from it; the caller drops the message and counts the reason (describe() names it).
#pragma once

#include <peermq/result.hpp>

namespace peermq::wire {

enum class WireError {
  truncated = 1,     // the input ends inside a value
  trailing_bytes,    // bytes follow the one value the input must hold
  too_large,         // the whole input exceeds the configured maximum
  too_deep,          // arrays/maps nest deeper than allowed
  too_many_entries,  // an array or map declares more entries than allowed
  too_long,          // a string, binary or ext value is longer than allowed
  malformed,         // a byte that is not msgpack (0xc1)
  wrong_type,        // the value has another type than the message format says
  missing_field,     // a field the format requires is absent
  out_of_range,      // an integer outside the range the field allows
  bad_utf8,          // a string that is not valid UTF-8
};
const char* describe(WireError e);
inline const char* category_name(WireError) {
  return "peermq.wire";
}
PEERMQ_ERROR_ENUM(WireError)

}  // namespace peermq::wire

PEERMQ_ERROR_ENUM_STD(peermq::wire::WireError)
