// What every client of a broker (producer, consumer) sets up and does the same way: the
// node it runs on, and how it leaves.
//
// Threads: the loop's thread only, like the node.
#pragma once

#include <peermq/address.hpp>

#include "runtime/node.hpp"

namespace peermq::runtime {

// A client's node: not announced (nobody dials a client), and keeping its broker session
// alive with a PING after limits::client_keepalive_interval of silence (nothing to send, or
// a long job), so the broker does not take a quiet client for gone. Tests that shorten the
// session timers set a shorter keepalive; zero means the default.
NodeOptions broker_client_node_options(NodeOptions options);

// Tells the broker we leave (queue message bye) and sends it at once, so it forgets us now
// rather than after the session's idle timeout. Best effort: if the packet is lost, that
// timeout still applies. Call before stopping the node.
void say_bye(Node& node, const PublicKey& broker);

}  // namespace peermq::runtime
