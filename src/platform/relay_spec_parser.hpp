// Parsing -relay / PEERMQ_RELAY into RelaySpecs (overlay/relay_spec.hpp):
//
//   ADDR@HOST:PORT   the relay's address (as `peermq relay` prints it) and where it
//                    listens: the session with it is authenticated from the first packet.
//   HOST:PORT        where it listens only: the node asks the relay for its key in the
//                    clear and trusts the first answer (overlay/relay_key_exchange.hpp).
//
// HOST is an IPv4 address, a bracketed IPv6 address, or a name. Names are resolved by
// parse_relay_specs() with getaddrinfo(3), which blocks: call it at start-up only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/result.hpp>

#include "overlay/relay_spec.hpp"

namespace peermq::platform {

enum class RelaySpecError {
  empty = 1,     // an empty item in the list ("a,,b")
  bad_address,   // the part before '@' is not a peermq address
  bad_endpoint,  // not HOST:PORT
  unresolved,    // the host name does not resolve
  too_many,      // more relays than limits::kMaxRelays
};
const char* describe(RelaySpecError e);
inline const char* category_name(RelaySpecError) {
  return "peermq.platform.relay_spec";
}
PEERMQ_ERROR_ENUM(RelaySpecError)

using overlay::RelaySpec;

// One relay. `detail` gets a sentence for the user on failure.
Result<RelaySpec> parse_relay_spec(std::string_view text, std::string* detail = nullptr);
// A comma-separated list (empty text: no relays).
Result<std::vector<RelaySpec>> parse_relay_specs(std::string_view text,
                                                 std::string* detail = nullptr);

}  // namespace peermq::platform

PEERMQ_ERROR_ENUM_STD(peermq::platform::RelaySpecError)
