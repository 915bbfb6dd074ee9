// What the network roles (broker, consumer, producer, relay, ping) share: the flags that
// place a node on the network, the -broker address, the `address: ADDR` line each prints
// first, stopping on SIGINT/SIGTERM, log lines, and how payloads are shown. Written on the
// public API only (include/peermq/), as every role is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/log.hpp>
#include <peermq/web_options.hpp>

#include "command_line.hpp"

namespace peermq::cli {

// -key=FILE, -listen=IP:PORT and -relay=RELAY[,RELAY...].
void add_node_flags(FlagSet& flags, std::string default_key, std::string default_listen);
// -key=FILE and -listen=IP:PORT only (the relay role: relays use no relays).
void add_key_and_listen_flags(FlagSet& flags, std::string default_key,
                              std::string default_listen);
// -relay=RELAY[,RELAY...] alone (the bench role: fresh keys, listen addresses of its own).
void add_relay_flag(FlagSet& flags);
// -broker=ADDR, checked as an address while parsing.
void add_broker_flag(FlagSet& flags);

// -web=IP:PORT, -web-cert=FILE, -web-key=FILE and -web-root=DIR (relay and broker).
void add_web_flags(FlagSet& flags);
// The -web flags as the options' `web` takes them; nullopt after telling the user what is
// wrong (a certificate without its key).
std::optional<WebOptions> web_options(const FlagSet& flags, Io& io, std::string_view role);
// `web: URL`, after the address line, when the role serves browsers.
void print_web(Io& io, const std::string& url);

// The -broker address; nullopt after telling the user that it is missing.
std::optional<std::string> broker_address(const FlagSet& flags, Io& io, std::string_view role);
// The -relay list as the options' `relays` take it (checked while parsing).
std::vector<std::string> relays(const FlagSet& flags);

// `address: ADDR`, on its own line, flushed: the first line every network role prints.
void print_address(Io& io, const Address& address);

// Writes what a role printed to Io::out: at once on a terminal, otherwise once per loop
// iteration — a reader at the other end of a pipe sees each batch as it comes, at one
// write(2) per batch, not per line. Lives on the loop's thread; must outlive the loop's
// run (its flush is a posted task).
class OutputFlusher {
 public:
  OutputFlusher(EventLoop& loop, Io& io) : loop_(loop), io_(io) {}
  // A line was written.
  void written();

 private:
  EventLoop& loop_;
  Io& io_;
  bool posted_ = false;
};

// Calls `on_stop` on the loop's thread, once, at the first SIGINT or SIGTERM (later ones
// are ignored, so a second Ctrl-C does not cut a clean stop short).
void on_stop_signal(EventLoop& loop, std::function<void()> on_stop);

// A payload as a terminal shows it: text as is, other bytes escaped, long ones cut.
std::string printable(std::span<const std::uint8_t> bytes);

}  // namespace peermq::cli

// PEERMQ_CLI_LOG(level, "component", "printf format", args...): a line through the
// library's log sink (peermq/log.hpp); level is one of error, warn, info, debug, trace.
// Arguments are evaluated only when the level is enabled.
#define PEERMQ_CLI_LOG(level, component, ...)                                   \
  do {                                                                          \
    if (::peermq::log_enabled(::peermq::LogLevel::level))                       \
      ::peermq::write_logf(::peermq::LogLevel::level, component, __VA_ARGS__); \
  } while (0)
