// The basic example's consumer: prints every message the broker hands it and answers
// with the message itself (an echo). Ctrl+C stops it; messages wait at the broker.
//
//   peermq-basic-consumer -broker=ADDR
#include <csignal>
#include <cstdio>
#include <string>

#include <peermq/consumer.hpp>

#include "example_flags.hpp"

int main(int argc, char** argv) {
  peermq::ConsumerOptions options;
  options.broker = example::flag(argc, argv, "broker");
  options.listen = example::flag(argc, argv, "listen", "0.0.0.0:0");

  peermq::Consumer consumer(options);
  consumer.on_message([](const peermq::Message& message) {
    std::printf("message %llu: %.*s\n", static_cast<unsigned long long>(message.id),
                static_cast<int>(message.text().size()), message.text().data());
    std::fflush(stdout);
    return peermq::Reply::answer(message.payload);
  });

  consumer.loop().on_signal(SIGINT, [&] { consumer.stop(); });
  consumer.loop().on_signal(SIGTERM, [&] { consumer.stop(); });
  std::string why;
  if (!consumer.run(&why)) {
    std::fprintf(stderr, "consumer: %s\n", why.c_str());
    return 1;
  }
  return 0;
}
