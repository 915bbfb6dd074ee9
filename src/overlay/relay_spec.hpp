// RelaySpec: one relay as the user names it: where it listens, and its key when the user
// gave it (ADDR@HOST:PORT). Without a key the host asks the relay for it in the clear and
// trusts the first answer (overlay/relay_key_exchange.hpp); with one, the session with the
// relay is authenticated from its first packet. Parsing and name resolution are the
// platform's (platform/relay_spec_parser.hpp): resolving a name blocks.
#pragma once

#include <optional>
#include <string>

#include <peermq/address.hpp>

#include "wire/endpoint.hpp"

namespace peermq::overlay {

struct RelaySpec {
  std::optional<PublicKey> key;  // nullopt: learned on first contact
  Endpoint endpoint;
  std::string text;  // as written, for messages
};

}  // namespace peermq::overlay
