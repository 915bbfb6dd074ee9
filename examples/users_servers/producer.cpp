// The users_servers example's producer: asks the consumers one question, -command=num_users
// or -command=num_servers, every -delay milliseconds, and prints the answers.
//
//   peermq-users-servers-producer -broker=ADDR -name=producer-1 -command=num_users
//                                 [-count=N (0: until Ctrl+C)] [-delay=MS] [-timeout=SECONDS]
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <peermq/producer.hpp>

#include "example_flags.hpp"

int main(int argc, char** argv) {
  peermq::ProducerOptions options;
  options.broker = example::flag(argc, argv, "broker");
  options.listen = example::flag(argc, argv, "listen", "0.0.0.0:0");
  options.name = example::flag(argc, argv, "name", "producer-1");
  const std::string command = example::flag(argc, argv, "command", "num_users");
  const long count = example::number_flag(argc, argv, "count", 0);
  const auto delay = std::chrono::milliseconds(example::number_flag(argc, argv, "delay", 1000));
  const auto timeout = std::chrono::seconds(example::number_flag(argc, argv, "timeout", 30));

  peermq::Producer producer(options);
  std::string why;
  if (!producer.start(&why)) {
    std::fprintf(stderr, "%s: %s\n", options.name.c_str(), why.c_str());
    return 1;
  }
  for (long i = 1; count == 0 || i <= count; ++i) {
    // The CLI consumer answers with a number; the web consumer, by default, with the payload.
    auto answer = producer.request(command, command + "?", timeout);
    if (!answer) {
      std::fprintf(stderr, "%s: %s\n", options.name.c_str(), answer.error().message().c_str());
      return 1;
    }
    std::printf("%s: %s = %s\n", options.name.c_str(), command.c_str(), answer->text().c_str());
    std::fflush(stdout);
    if (count == 0 || i < count) std::this_thread::sleep_for(delay);
  }
  return 0;
}
