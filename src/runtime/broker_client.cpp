#include "runtime/broker_client.hpp"

#include <vector>

#include "mq/mq_message.hpp"

namespace peermq::runtime {

NodeOptions broker_client_node_options(NodeOptions options) {
  options.host.router.announce = false;
  if (options.host.channel.keepalive_interval <= Duration::zero()) {
    options.host.channel.keepalive_interval = limits::client_keepalive_interval;
  }
  return options;
}

void say_bye(Node& node, const PublicKey& broker) {
  std::vector<std::uint8_t> bye;
  mq::encode(mq::Bye{}, bye);
  (void)node.host().send(broker, bye);
  node.host().flush();
}

}  // namespace peermq::runtime
