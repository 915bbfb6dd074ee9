// Relay: a node with a public UDP endpoint that other nodes register with: it answers
// "where is ADDR", coordinates hole punching between two nodes behind NATs, and forwards
// the encrypted datagrams of nodes that cannot reach each other directly. It sees only
// ciphertext (end-to-end sessions authenticate each peer's own key) and rate-limits each
// peer.
//
//   peermq::RelayOptions options;
//   options.key_file = "relay.key";       // keeps its address across restarts
//   options.listen = "0.0.0.0:7070";
//   peermq::Relay relay(options);
//   std::string why;
//   if (!relay.start(&why)) { /* print why */ }
//   // nodes: relays = {relay.address().to_string() + "@relay.example.org:7070"}
//   relay.loop().on_signal(SIGINT, [&] { relay.stop(); });
//   relay.run();
//
// Nodes name it ADDR@HOST:PORT (authenticated from the first packet) or HOST:PORT (its
// key learned on first contact): give it a key_file, or nodes that pinned its key will not
// accept the new one after a restart. A relay uses no relays and is not announced for local
// discovery.
//
// Threads: see event_loop.hpp. stop() is safe from any thread; everything else belongs to
// the loop's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/queue_error.hpp>
#include <peermq/result.hpp>
#include <peermq/web_options.hpp>

namespace peermq {

struct RelayOptions {
  std::string key_file;                 // empty: a fresh identity (a new address) every start
  std::string listen = "0.0.0.0:7070";  // UDP IP:PORT; port 0: any free port
  std::string discovery_dir;            // empty: $PEERMQ_RUNTIME_DIR, or the user's default
  WebOptions web;  // also serve browsers (web_options.hpp): they register like any node
};

// What the relay has done since it started.
struct RelayStats {
  std::uint64_t registered = 0;  // nodes registered now
  std::uint64_t forwarded_packets = 0;
  std::uint64_t forwarded_bytes = 0;
  std::uint64_t lookups = 0;  // "where is ADDR" answered
  std::uint64_t punches = 0;  // hole punching rounds coordinated
  struct Drop {
    std::string reason;  // a sentence, e.g. why the message was not forwarded
    std::uint64_t count = 0;
  };
  std::vector<Drop> drops;  // messages dropped, by reason; reasons that never happened left out
};

class Relay {
 public:
  // On a loop of its own (loop()), or on `loop`, which must outlive the relay.
  explicit Relay(RelayOptions options);
  Relay(EventLoop& loop, RelayOptions options);
  // Stops (see stop()) if still serving. On the loop's thread.
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Loads the identity start() will use: from key_file (created if missing), or a fresh
  // one. Makes address() valid before anything touches the network, e.g. to print it
  // first; start() calls it when you did not. Errors: a KeyFileError (detail says how to
  // fix it), QueueError::stopped.
  Result<Address> load_identity(std::string* detail = nullptr);
  // Binds and serves while the loop runs. Errors: QueueError::invalid_options (listen),
  // QueueError::stopped, a KeyFileError, the network's (detail says what to fix).
  Result<void> start(std::string* detail = nullptr);
  // start() if needed, then runs the loop until stop(). Errors: start()'s,
  // QueueError::loop_busy.
  Result<void> run(std::string* detail = nullptr);
  // Stops serving, and run() returns. Any thread. A stopped relay does not start again;
  // its stats() stay readable.
  void stop() noexcept;

  // Valid after load_identity() or start().
  Address address() const;
  // The UDP endpoint it listens on, e.g. "0.0.0.0:7070"; empty before start().
  std::string endpoint() const;
  // Where browsers open the page, "http://IP:PORT/" or "https://IP:PORT/" (the real port
  // after port 0); empty without web.listen, or before start().
  std::string web_url() const;
  bool serving() const noexcept;
  RelayStats stats() const;
  const Counters& counters() const noexcept;
  EventLoop& loop() noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
