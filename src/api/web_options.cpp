// The public check of the web options, on the same code start() uses (api/node_setup.hpp).
#include <peermq/web_options.hpp>

#include "api/node_setup.hpp"

namespace peermq {

Result<void> check_web(const WebOptions& options, std::string* detail) {
  platform::NodeOptions scratch;
  return api::set_web_options(scratch, options, detail);
}

}  // namespace peermq
