// The basic example's broker: stores messages, hands each to a consumer, routes answers
// back. Prints its address for the consumer and the producer; Ctrl+C stops it cleanly.
//
//   peermq-basic-broker [-data=DIR] [-listen=IP:PORT]
#include <csignal>
#include <cstdio>
#include <string>

#include <peermq/broker.hpp>

#include "example_flags.hpp"

int main(int argc, char** argv) {
  peermq::BrokerOptions options;
  options.data_dir = example::flag(argc, argv, "data", "basic-broker-data");
  options.listen = example::flag(argc, argv, "listen", "0.0.0.0:0");

  peermq::Broker broker(options);
  std::string why;
  if (!broker.start(&why)) {
    std::fprintf(stderr, "broker: %s\n", why.c_str());
    return 1;
  }
  std::printf("address: %s\n", broker.address().to_string().c_str());
  std::fflush(stdout);

  broker.loop().on_signal(SIGINT, [&] { broker.stop(); });
  broker.loop().on_signal(SIGTERM, [&] { broker.stop(); });
  if (!broker.run(&why)) {
    std::fprintf(stderr, "broker: %s\n", why.c_str());
    return 1;
  }
  return 0;
}
