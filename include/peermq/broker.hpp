// Broker: stores messages durably, hands each to one consumer subscribed to its command,
// and routes every answer back to the producer that sent the message.
//
//   peermq::BrokerOptions options;
//   options.data_dir = "broker-data";
//   peermq::Broker broker(options);
//   std::string why;
//   if (!broker.start(&why)) { /* print why */ }
//   std::printf("address: %s\n", broker.address().to_string().c_str());  // for the clients
//   broker.loop().on_signal(SIGINT, [&] { broker.stop(); });
//   broker.run();
//
// The broker's address is its public key: consumers and producers dial it by that alone.
// Its identity lives in a key file (by default <data_dir>/broker.key, created on the first
// start), so a restarted broker keeps its address. Messages live in an append-only log in
// <data_dir>/log: a publish is confirmed to its producer only once stored per the sync
// policy, and a restarted broker serves everything it had confirmed. Clients on the same
// host find it with no configuration (local discovery); elsewhere, give both sides relays.
//
// Threads: see event_loop.hpp. stop() is safe from any thread; everything else belongs to
// the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/queue_error.hpp>
#include <peermq/result.hpp>
#include <peermq/web_options.hpp>

namespace peermq {

// When a message counts as stored, and so may be confirmed to its producer.
enum class SyncPolicy {
  always,  // after fdatasync: it survives a power cut
  batch,   // written at once, fdatasync within a few milliseconds
  none,    // written; the operating system syncs when it likes
};

struct BrokerOptions {
  std::string data_dir = "peermq-data";  // created if missing
  SyncPolicy sync = SyncPolicy::always;
  std::string key_file;                   // empty: <data_dir>/broker.key
  std::string listen = "0.0.0.0:0";       // UDP IP:PORT; port 0: any free port
  std::vector<std::string> relays;        // "HOST:PORT" or "ADDR@HOST:PORT"; none: this host
  std::string discovery_dir;              // empty: $PEERMQ_RUNTIME_DIR, or the user's default
  std::string access_list;                // path of an access list file; empty: open to all
  Duration visibility_timeout = std::chrono::seconds(30);  // to answer before redelivery
  std::uint32_t max_deliveries = 5;        // 1..255; then the dead-letter queue
  std::uint64_t max_messages = 1'000'000;  // stored, before producers are told to slow down
  // Also serve browsers (web_options.hpp), with no separate relay: the broker's node is
  // then the relay of its WebSocket peers (of those only), and a page dials the broker
  // through it.
  WebOptions web;
};

// What the broker holds now.
struct BrokerStats {
  std::uint64_t stored_messages = 0;  // ready, in flight and dead letters
  std::uint64_t ready = 0;            // waiting for a consumer
  std::uint64_t in_flight = 0;        // delivered, not answered yet
  std::uint64_t dead_letters = 0;
  std::uint64_t stored_answers = 0;   // waiting for their producer to fetch them
  std::uint64_t consumers = 0;
  std::uint64_t producers = 0;
  // The log: group commit at work, and the segment files on disk.
  std::uint64_t fsyncs = 0;           // since start
  double records_per_fsync = 0;       // on average since start; 0 before the first
  std::uint64_t segments = 0;         // segment files now
  // Memory the queue itself uses, beyond what the allocator adds.
  std::uint64_t store_memory_bytes = 0;  // messages: slots and blocks
  std::uint64_t index_memory_bytes = 0;  // dedupe and answer indexes
};

class Broker {
 public:
  // On a loop of its own (loop()), or on `loop`, which must outlive the broker.
  explicit Broker(BrokerOptions options);
  Broker(EventLoop& loop, BrokerOptions options);
  // Stops (see stop()) if still serving. On the loop's thread.
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Loads (or creates, in a data_dir it creates if missing) the identity start() will
  // use, so that address() is valid before the log is replayed and anything touches the
  // network: e.g. to print it first. start() calls it when you did not. Errors: a
  // KeyFileError, the data directory's (detail says what to fix), QueueError::stopped.
  Result<Address> load_identity(std::string* detail = nullptr);
  // Loads (or creates) the identity, opens and replays the log, binds and serves while the
  // loop runs; logs "broker: listening on IP:PORT" (info) once it does. On failure `detail` says what to fix. Errors: QueueError::invalid_options,
  // QueueError::stopped, a KeyFileError, the log's disk errors, the network's.
  Result<void> start(std::string* detail = nullptr);
  // start() if needed, then runs the loop until stop(). Errors: start()'s,
  // QueueError::loop_busy, QueueError::storage_failed (the log failed; `detail` says how).
  Result<void> run(std::string* detail = nullptr);
  // Stops serving: what is pending is written and synced, whatever the policy, and run()
  // returns. Any thread. A stopped broker does not start again.
  void stop() noexcept;

  // Valid after load_identity() or start().
  Address address() const;
  // The UDP endpoint it listens on, e.g. "127.0.0.1:40123"; empty before start().
  std::string endpoint() const;
  // Where browsers open the page, "http://IP:PORT/" or "https://IP:PORT/"; empty without
  // web.listen, or before start().
  std::string web_url() const;
  bool serving() const noexcept;
  BrokerStats stats() const;
  // What it has done: messages, deliveries, packets, bytes...
  const Counters& counters() const noexcept;
  EventLoop& loop() noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
