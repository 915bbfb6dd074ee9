#include "api/node_setup.hpp"

#include <peermq/queue_error.hpp>

#include "wire/endpoint.hpp"
#include "platform/relay_spec_parser.hpp"
#include "platform/web_root.hpp"

namespace peermq::api {

std::error_code invalid(std::string* detail, std::string why) {
  if (detail != nullptr) *detail = std::move(why);
  return QueueError::invalid_options;
}

Result<Endpoint> parse_listen(std::string_view listen, std::string* detail) {
  auto endpoint = Endpoint::parse(listen);
  if (!endpoint) {
    return invalid(detail, "listen \"" + std::string(listen) + "\": " +
                               endpoint.error().message() +
                               " (expected IP:PORT, for example 0.0.0.0:0 or [::1]:7070)");
  }
  return endpoint;
}

Result<void> set_node_options(platform::NodeOptions& o, std::string_view listen,
                              const std::vector<std::string>& relays,
                              const std::string& discovery_dir, std::string* detail) {
  auto endpoint = parse_listen(listen, detail);
  if (!endpoint) return endpoint.error();
  o.listen = *endpoint;
  std::string joined;
  for (const std::string& relay : relays) {
    if (relay.empty() || relay.find(',') != std::string::npos) {
      return invalid(detail, "relay \"" + relay + "\": expected HOST:PORT or ADDR@HOST:PORT");
    }
    if (!joined.empty()) joined += ',';
    joined += relay;
  }
  std::string why;
  auto specs = platform::parse_relay_specs(joined, &why);
  if (!specs) return invalid(detail, "relays: " + why);
  o.host.router.relays = std::move(*specs);
  if (!discovery_dir.empty()) o.discovery_dir = discovery_dir;
  return {};
}

Result<void> set_web_options(platform::NodeOptions& o, const WebOptions& web,
                             std::string* detail) {
  if (web.listen.empty()) {
    if (!web.cert_file.empty() || !web.key_file.empty() || !web.root.empty()) {
      return invalid(detail, "-web-cert, -web-key and -web-root need -web=IP:PORT");
    }
    return {};
  }
  auto endpoint = Endpoint::parse(web.listen);
  if (!endpoint) {
    return invalid(detail, "web \"" + web.listen + "\": " + endpoint.error().message() +
                               " (expected IP:PORT, for example 127.0.0.1:8080 or [::1]:0)");
  }
  if (web.cert_file.empty() != web.key_file.empty()) {
    return invalid(detail,
                   "-web-cert=FILE and -web-key=FILE go together: give the PEM certificate and "
                   "its private key both (https), or neither (http)");
  }
  platform::WebOptions out;
  out.listen = *endpoint;
  out.cert_file = web.cert_file;
  out.key_file = web.key_file;
  out.root = platform::choose_web_root(web.root, platform::executable_dir());
  o.web = std::move(out);
  return {};
}

Result<PublicKey> broker_key(std::string_view address, std::string* detail) {
  if (address.empty()) {
    return invalid(detail, "no broker address: start a broker and copy the address it prints");
  }
  std::size_t bad_at = 0;
  auto parsed = Address::parse(address, &bad_at);
  if (!parsed) {
    return invalid(detail, "broker address: " + Address::explain(address, parsed.error(), bad_at));
  }
  return parsed->public_key();
}

Result<Identity> client_identity(const std::string& key_file, std::string* detail) {
  if (key_file.empty()) return Identity::generate();
  return load_or_create_key_file(key_file, nullptr, detail);
}

}  // namespace peermq::api
