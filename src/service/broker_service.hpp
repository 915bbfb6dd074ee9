// BrokerService: a broker. It joins the queue's core (mq::Broker) to its durable log
// (SegmentLog in <data_dir>/log) and to the node's host (overlay::Host), on an Executor: no
// I/O of its own beyond the log, so it runs over libuv and in the simulator alike.
//
// start() replays the log into the broker (logging what recovery found), then serves what
// the host receives. Group commit: every record the broker appended during one turn of
// the loop is written by one write in a TurnHook right after that turn's input. With
// SyncPolicy::none that makes them stored. With always and batch, the fdatasync runs on a
// BlockingWorker (libuv's thread pool) while the loop goes on receiving; its records count as stored when it completes, and the records
// written meanwhile go to the next one, started at once. Stored records are then confirmed
// to the producers and delivered, and what that sends leaves at once (Host::flush). With always, a waiting publish starts an fdatasync; records nothing waits for
// (answers, acknowledgements) ride along with the next one, or get their own after
// limits::kSyncAlwaysUngatedDelay: a sync of them alone would hold up the publishes that
// follow. With batch, a timer syncs a quiet log in time. After each commit the log
// releases every record below the broker's live_floor(), so acknowledged segments go.
//
// A peer's first message is its connection; a peer whose session restarted (on_peer_reset:
// a restarted process with the same key) or closed is disconnected: its deliveries go
// back to the queue, and its hello comes again.
//
// Failure: a log that refuses a record or fails a write is a broken disk; the service
// reports it once through on_failure() and the owner must stop() it (recovery at the
// next start reads what really is on disk).
//
// The host is the owner's (started before or after start(), stopped after stop()); the
// service takes its message, writable, reset and closed callbacks.
// Used by `peermq broker` (node/broker_role.cpp) and the public peermq::Broker.
// Threads: the executor's. Lifetime: the executor, host and Counters outlive the service.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "mq/access_list.hpp"
#include "mq/broker.hpp"
#include "overlay/host.hpp"
#include "storage/segment_log.hpp"
#include "service/executor.hpp"

namespace peermq::service {

struct BrokerServiceOptions {
  std::filesystem::path data_dir;  // the log is <data_dir>/log
  storage::LogOptions log{};
  mq::BrokerConfig broker{};
};

// Reads and parses the access list at `path`. On failure `detail` says what to fix:
// "cannot read the access list PATH" or "PATH:LINE: what is wrong".
Result<mq::AccessList> read_access_list(const std::filesystem::path& path, std::string* detail);

class BrokerService {
 public:
  using FailureCallback = std::function<void(const std::string& why)>;

  // Throws std::invalid_argument for a broker config out of range (start-up only).
  // The log lives on `files` (the real disk, or the simulator's), which outlives the service.
  BrokerService(Executor& executor, overlay::Host& host, storage::FileSystem& files,
                Counters& counters, BrokerServiceOptions options);
  // Without stop(), destroying it is a crash: nothing pending is written or synced, and
  // recovery at the next start reads what is on disk (the simulator kills brokers so).
  ~BrokerService() = default;
  BrokerService(const BrokerService&) = delete;
  BrokerService& operator=(const BrokerService&) = delete;

  // Opens and replays the log, then serves. `detail` gets a sentence for the user on
  // failure (the log's LogError comes back).
  Result<void> start(std::string* detail);
  // Writes and syncs whatever is pending, whatever the policy. After a failure too.
  // Idempotent; the service does not start again.
  void stop() noexcept;

  // Called at most once, from a loop callback, when the log failed; stop() next.
  void on_failure(FailureCallback callback) { on_failure_ = std::move(callback); }
  bool failed() const noexcept { return failed_; }
  bool serving() const noexcept { return started_ && !stopped_; }

  const mq::Broker& broker() const noexcept { return broker_; }
  // Valid once start() succeeded.
  const storage::SegmentLog& log() const noexcept { return *log_; }

 private:
  // The broker's journal is the segment log; a record the log refuses is a broken invariant
  // (the broker bounds payloads well below the log's limit), so it stops the broker.
  struct LogJournal final : mq::Journal {
    storage::SegmentLog* log = nullptr;
    bool failed = false;
    std::string error;
    std::uint64_t append(std::span<const std::uint8_t> body) override;
  };
  struct TransportOutbox final : mq::BrokerOutbox {
    overlay::Host* transport = nullptr;
    bool send(const PublicKey& peer, std::span<const std::uint8_t> message) override;
    void report(const PublicKey& peer, std::string_view what) override;
  };

  void serve();
  void commit();
  // Starts an fdatasync on the thread pool if one is due and none runs (always, batch).
  void start_sync();
  void on_synced(const storage::SyncJob& job, int error);
  // Confirms and delivers what is stored, releases what is no longer needed, sends.
  void settle();
  void after_input();
  void fail(const std::string& why);
  void disconnect(const PublicKey& peer);

  Executor& executor_;
  overlay::Host& host_;
  storage::FileSystem& files_;
  BrokerServiceOptions options_;
  LogJournal journal_;
  TransportOutbox outbox_;
  mq::Broker broker_;
  std::optional<storage::SegmentLog> log_;
  std::unique_ptr<Alarm> broker_timer_;
  std::unique_ptr<Alarm> sync_timer_;
  std::unique_ptr<TurnHook> commit_hook_;
  std::unique_ptr<BlockingWorker> syncer_;
  std::optional<PublicKey> last_connected_;  // connected at the broker: the last sender
  std::uint64_t released_below_ = 1;  // every record below this was released to the log
  FailureCallback on_failure_;
  bool started_ = false;
  bool stopped_ = false;
  bool failed_ = false;
};

}  // namespace peermq::service
