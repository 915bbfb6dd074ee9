#include "service/broker_client.hpp"

#include <vector>

#include "mq/mq_message.hpp"

namespace peermq::service {

overlay::HostOptions client_host_options(overlay::HostOptions options) {
  options.router.announce = false;
  if (options.channel.keepalive_interval <= Duration::zero()) {
    options.channel.keepalive_interval = limits::kClientKeepaliveInterval;
  }
  return options;
}

void say_bye(overlay::Host& host, const PublicKey& broker) {
  std::vector<std::uint8_t> bye;
  mq::encode(mq::Bye{}, bye);
  (void)host.send(broker, bye);
  host.flush();
}

}  // namespace peermq::service
