// The text forms of where a node listens and which relays it uses, as the `listen` and
// `relays` options of Broker, Consumer, Producer, Relay and Pinger take them, checked
// before anything starts: a program can refuse a bad value where the user typed it (the
// peermq command line does so for -listen and -relay, as a usage error).
//
//   listen   IP:PORT: "0.0.0.0:0" (every interface, any free port), "127.0.0.1:7070",
//            "[::1]:7070"
//   relays   HOST:PORT or ADDR@HOST:PORT each: ADDR (as `peermq relay` prints it)
//            authenticates the relay from the first packet; HOST:PORT alone trusts the key
//            the relay sends on first contact. HOST is an IPv4 address, a bracketed IPv6
//            address or a name.
//
// Errors: QueueError::invalid_options, with `detail` (when given) saying what is wrong.
// Threads: any. parse_relays() resolves host names with getaddrinfo(3), which blocks:
// call it at start-up, not on a loop that serves.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <peermq/result.hpp>

namespace peermq {

// Checks a listen endpoint.
Result<void> check_listen(std::string_view text, std::string* detail = nullptr);

// Splits a comma-separated relay list (as -relay=... and $PEERMQ_RELAY write it; empty:
// no relays) into the items the `relays` options take, checking each.
Result<std::vector<std::string>> parse_relays(std::string_view list,
                                              std::string* detail = nullptr);

}  // namespace peermq
