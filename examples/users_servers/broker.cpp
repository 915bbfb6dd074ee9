// The users_servers example's broker: the basic broker, which also serves the web consumer
// (the page, and the WebSocket browsers reach the overlay through) on -web. Prints its
// address, and the URL to open.
//
//   peermq-users-servers-broker [-data=DIR] [-listen=IP:PORT] [-web=IP:PORT (127.0.0.1:8094)]
#include <csignal>
#include <cstdio>
#include <string>

#include <peermq/broker.hpp>

#include "example_flags.hpp"

int main(int argc, char** argv) {
  peermq::BrokerOptions options;
  options.data_dir = example::flag(argc, argv, "data", "users-servers-broker-data");
  options.listen = example::flag(argc, argv, "listen", "0.0.0.0:0");
  options.web.listen = example::flag(argc, argv, "web", "127.0.0.1:8094");
  options.web.root = example::flag(argc, argv, "web-root");

  peermq::Broker broker(options);
  std::string why;
  if (!broker.start(&why)) {
    std::fprintf(stderr, "broker: %s\n", why.c_str());
    return 1;
  }
  std::printf("address: %s\n", broker.address().to_string().c_str());
  std::printf("web: %s\n", broker.web_url().c_str());
  std::fflush(stdout);

  broker.loop().on_signal(SIGINT, [&] { broker.stop(); });
  broker.loop().on_signal(SIGTERM, [&] { broker.stop(); });
  if (!broker.run(&why)) {
    std::fprintf(stderr, "broker: %s\n", why.c_str());
    return 1;
  }
  return 0;
}
