// What the network roles (broker, consumer, producer) share: the flags that place a node
// on the network, its identity, the -broker address, and running until a signal.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <peermq/address.hpp>
#include <peermq/identity.hpp>

#include "command_line.hpp"
#include "runtime/loop.hpp"
#include "runtime/node.hpp"

namespace peermq::cli {

// -key=FILE, -listen=IP:PORT and -relay=RELAY[,RELAY...].
void add_node_flags(FlagSet& flags, std::string default_key, std::string default_listen);
// -key=FILE and -listen=IP:PORT only (the relay role: relays use no relays).
void add_key_and_listen_flags(FlagSet& flags, std::string default_key,
                              std::string default_listen);
// -broker=ADDR, checked as an address while parsing.
void add_broker_flag(FlagSet& flags);

// The identity in the key file (created if missing); nullopt after telling the user why.
std::optional<Identity> load_identity(const std::string& path, Io& io, std::string_view role);
// The -broker address; nullopt after telling the user that it is missing.
std::optional<PublicKey> broker_key(const FlagSet& flags, Io& io, std::string_view role);
// -listen and -relay (when the role has it) as node options.
runtime::NodeOptions node_options(const FlagSet& flags);

// Runs `loop` until SIGINT or SIGTERM (then calls `on_stop` once and keeps running until
// `done` says so) or until `done` returns true. `done` is checked after each iteration.
void run_until_done(runtime::Loop& loop, const std::function<void()>& on_stop,
                    const std::function<bool()>& done);

// A payload as a terminal shows it: text as is, other bytes escaped, long ones cut.
std::string printable(std::span<const std::uint8_t> bytes);

}  // namespace peermq::cli
