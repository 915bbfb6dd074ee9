// What Broker, Consumer, Producer, Relay and Pinger do alike at start(): turn the text a
// user gives in their options (listen, relays, discovery_dir, the broker's address, a key
// file) into platform types, with a sentence for the user when something is wrong. The one
// place this is done: the public checks (network_options.hpp) use it too.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>
#include <peermq/web_options.hpp>

#include "platform/node.hpp"

namespace peermq::api {

// Sets `detail` (if given) to `why` and returns QueueError::invalid_options.
std::error_code invalid(std::string* detail, std::string why);

// The endpoint in a listen option. Errors: QueueError::invalid_options.
Result<Endpoint> parse_listen(std::string_view listen, std::string* detail);

// Sets listen, relays and (unless empty) discovery_dir of `out`. Errors:
// QueueError::invalid_options for a listen endpoint or relay that does not parse.
Result<void> set_node_options(platform::NodeOptions& out, std::string_view listen,
                              const std::vector<std::string>& relays,
                              const std::string& discovery_dir, std::string* detail);

// Sets `out.web` from the public web options (nothing when web.listen is empty), the web
// root chosen (platform/web_root.hpp). Errors: QueueError::invalid_options for a listen
// endpoint that does not parse, or a certificate without its key (or the other way round).
Result<void> set_web_options(platform::NodeOptions& out, const WebOptions& web,
                             std::string* detail);

// The key in a broker address. Errors: QueueError::invalid_options, detail naming the
// offending character.
Result<PublicKey> broker_key(std::string_view address, std::string* detail);

// The identity in `key_file` (created if missing), or a fresh one when it is empty.
// Errors: KeyFileError.
Result<Identity> client_identity(const std::string& key_file, std::string* detail);

}  // namespace peermq::api
