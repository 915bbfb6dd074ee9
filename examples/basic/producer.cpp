// The basic example's producer: sends "Hello N" messages to the broker, one after the
// other, and prints each answer.
//
//   peermq-basic-producer -broker=ADDR [-count=N] [-timeout=SECONDS]
#include <chrono>
#include <cstdio>
#include <string>

#include <peermq/producer.hpp>

#include "example_flags.hpp"

int main(int argc, char** argv) {
  peermq::ProducerOptions options;
  options.broker = example::flag(argc, argv, "broker");
  options.listen = example::flag(argc, argv, "listen", "0.0.0.0:0");
  const long count = example::number_flag(argc, argv, "count", 5);
  const auto timeout = std::chrono::seconds(example::number_flag(argc, argv, "timeout", 30));

  peermq::Producer producer(options);
  std::string why;
  if (!producer.start(&why)) {
    std::fprintf(stderr, "producer: %s\n", why.c_str());
    return 1;
  }
  for (long i = 1; i <= count; ++i) {
    const std::string text = "Hello " + std::to_string(i);
    auto answer = producer.request("", text, timeout);
    if (!answer) {
      std::fprintf(stderr, "producer: %s: %s\n", text.c_str(), answer.error().message().c_str());
      return 1;
    }
    std::printf("answer: %s\n", answer->text().c_str());
    std::fflush(stdout);
  }
  return 0;
}
