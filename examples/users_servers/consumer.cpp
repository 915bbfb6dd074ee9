// The users_servers example's consumer: answers the commands num_users and num_servers
// with how many users and servers a (pretend) game cluster has now. Every message of
// those commands comes to one consumer, so start several to share the load.
//
//   peermq-users-servers-consumer -broker=ADDR [-users=N] [-servers=N]
#include <csignal>
#include <cstdio>
#include <string>

#include <peermq/consumer.hpp>

#include "example_flags.hpp"

int main(int argc, char** argv) {
  peermq::ConsumerOptions options;
  options.broker = example::flag(argc, argv, "broker");
  options.listen = example::flag(argc, argv, "listen", "0.0.0.0:0");
  options.name = example::flag(argc, argv, "name", "users-servers");
  options.commands = {"num_users", "num_servers"};
  const long users = example::number_flag(argc, argv, "users", 1500);
  const long servers = example::number_flag(argc, argv, "servers", 12);

  peermq::Consumer consumer(options);
  consumer.on_message([&](const peermq::Message& message) {
    std::printf("%.*s from %s\n", static_cast<int>(message.command.size()),
                message.command.data(), message.producer.to_string().c_str());
    std::fflush(stdout);
    if (message.command == "num_users") return peermq::Reply::answer(std::to_string(users));
    if (message.command == "num_servers") return peermq::Reply::answer(std::to_string(servers));
    return peermq::Reply::reject("unknown command", false);
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
