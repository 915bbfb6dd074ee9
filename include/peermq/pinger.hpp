// Pinger: finds a node by its address and pings it, telling the path traffic to it takes
// (direct, or relayed through a relay), the remote endpoint that path sends to, and the
// round-trip time of each ping. What `peermq ping` is made of.
//
//   peermq::PingerOptions options;
//   options.target = "<the node's address>";
//   peermq::Pinger pinger(loop, options);
//   pinger.on_reply([](const peermq::PingReply& r) {
//     std::printf("seq=%llu %s rtt=%.3f ms\n", ..., peermq::to_string(r.path.kind), ...);
//   });
//   pinger.start();
//   ... once pinger.path().kind != PathKind::none: pinger.ping(1), ping(2) ...
//
// start() dials the target: a node on this host is found through local discovery, others
// through the relays (looked up again until it appears). A ping is an unreliable overlay
// message along the target's current route; the target answers it. Replies come for pings
// sent no longer than `timeout` ago, once each; a ping that did not leave (no path yet, no
// session yet) gets none.
//
// Threads: see event_loop.hpp. Callbacks run on the loop's thread; stop() is safe from any
// thread, everything else belongs to the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/queue_error.hpp>
#include <peermq/result.hpp>

namespace peermq {

enum class PathKind { none, relayed, direct };
// "none", "relayed", "direct".
const char* to_string(PathKind kind) noexcept;

// How traffic to a node goes now.
struct Path {
  PathKind kind = PathKind::none;
  // Where the path sends to, "IP:PORT": the node's endpoint for a direct path, the relay's
  // for a relayed one; empty for none.
  std::string endpoint;
};

struct PingReply {
  std::uint64_t seq = 0;  // what ping() was given
  Duration rtt{0};        // from ping() to the reply's arrival
  Path path;              // to the target, as the reply arrived
};

struct PingerOptions {
  std::string target;                // the address of the node to ping
  std::string key_file;              // empty: a fresh identity every start
  std::string listen = "0.0.0.0:0";  // UDP IP:PORT; port 0: any free port
  std::vector<std::string> relays;   // "HOST:PORT" or "ADDR@HOST:PORT"; none: this host
  std::string discovery_dir;         // empty: $PEERMQ_RUNTIME_DIR, or the user's default
  Duration timeout = std::chrono::seconds(10);  // a reply later than this is not reported
};

class Pinger {
 public:
  using ReplyCallback = std::function<void(const PingReply& reply)>;

  // On a loop of its own (loop()), or on `loop`, which must outlive the pinger.
  explicit Pinger(PingerOptions options);
  Pinger(EventLoop& loop, PingerOptions options);
  ~Pinger();
  Pinger(const Pinger&) = delete;
  Pinger& operator=(const Pinger&) = delete;

  void on_reply(ReplyCallback callback);

  // Loads the identity start() will use: from key_file (created if missing), or a fresh
  // one. Errors: a KeyFileError (detail says how to fix it), QueueError::stopped.
  Result<Address> load_identity(std::string* detail = nullptr);
  // Binds and dials the target; works while the loop runs. A target not found yet is
  // looked up again until it appears (and said so in the log). Errors:
  // QueueError::invalid_options (target, listen, relays, timeout: detail says which),
  // QueueError::stopped, a KeyFileError, the network's.
  Result<void> start(std::string* detail = nullptr);
  // Stops pinging and closes the node. Any thread. A stopped pinger does not start again.
  void stop() noexcept;

  // Sends ping `seq` along the current path. Errors: QueueError::not_started,
  // QueueError::stopped, the network's (no path to the target yet, no session yet).
  Result<void> ping(std::uint64_t seq);
  // The path to the target now.
  Path path() const;

  // Its own address (valid after load_identity() or start()).
  Address address() const;
  const Counters& counters() const noexcept;
  EventLoop& loop() noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
