// The public checks of listen and relay text, on the same parsers start() uses
// (api/node_setup.hpp, platform/relay_spec_parser.hpp), so that what they accept is what a
// node accepts.
#include <peermq/network_options.hpp>

#include "api/node_setup.hpp"
#include "platform/relay_spec_parser.hpp"

namespace peermq {

Result<void> check_listen(std::string_view text, std::string* detail) {
  auto endpoint = api::parse_listen(text, detail);
  if (!endpoint) return endpoint.error();
  return {};
}

Result<std::vector<std::string>> parse_relays(std::string_view list, std::string* detail) {
  std::string why;
  auto specs = platform::parse_relay_specs(list, &why);
  if (!specs) return api::invalid(detail, std::move(why));
  std::vector<std::string> out;
  out.reserve(specs->size());
  for (auto& spec : *specs) out.push_back(std::move(spec.text));
  return out;
}

}  // namespace peermq
