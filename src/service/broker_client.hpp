// What every client of a broker (producer, consumer) sets up and does the same way: the
// host options it runs with, and how it leaves.
//
// Threads: the host's thread only.
#pragma once

#include <peermq/address.hpp>

#include "overlay/host.hpp"

namespace peermq::service {

// A client's host: not announced (nobody dials a client), and keeping its broker session
// alive with a PING after limits::kClientKeepaliveInterval of silence (nothing to send, or
// a long job), so the broker does not take a quiet client for gone. Tests that shorten the
// session timers set a shorter keepalive; zero means the default.
overlay::HostOptions client_host_options(overlay::HostOptions options);

// Tells the broker we leave (queue message bye) and sends it at once, so it forgets us now
// rather than after the session's idle timeout. Best effort: if the packet is lost, that
// timeout still applies. Call before stopping the host.
void say_bye(overlay::Host& host, const PublicKey& broker);

}  // namespace peermq::service
