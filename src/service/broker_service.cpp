#include "service/broker_service.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include "log/log.hpp"

namespace peermq::service {

Result<mq::AccessList> read_access_list(const std::filesystem::path& path, std::string* detail) {
  std::ifstream in(path);
  if (!in) {
    if (detail != nullptr) *detail = "cannot read the access list " + path.string();
    return std::make_error_code(std::errc::no_such_file_or_directory);
  }
  std::stringstream text;
  text << in.rdbuf();
  std::size_t line = 0;
  auto list = mq::AccessList::parse(text.str(), &line);
  if (!list && detail != nullptr) {
    *detail = path.string() + ':' + std::to_string(line) + ": " + list.error().message();
  }
  return list;
}

std::uint64_t BrokerService::LogJournal::append(std::span<const std::uint8_t> body) {
  auto seq = log->append(body);
  if (!seq) {
    failed = true;
    error = seq.error().message();
    return log->next_seq();
  }
  return *seq;
}

bool BrokerService::TransportOutbox::send(const PublicKey& peer,
                                          std::span<const std::uint8_t> message) {
  return transport->send(peer, message).ok();
}

void BrokerService::TransportOutbox::report(const PublicKey& peer, std::string_view what) {
  const std::string who = Address(peer).to_string();
  PEERMQ_LOG(warn, "broker", "%s: %.*s", who.c_str(), static_cast<int>(what.size()), what.data());
}

BrokerService::BrokerService(Executor& executor, overlay::Host& host, storage::FileSystem& files,
                             Counters& counters, BrokerServiceOptions options)
    : executor_(executor),
      host_(host),
      files_(files),
      options_(std::move(options)),
      broker_(options_.broker, journal_, outbox_, counters, executor.now(), executor.wall_now()),
      broker_timer_(executor.make_alarm()),
      sync_timer_(executor.make_alarm()),
      commit_hook_(executor.make_turn_hook()),
      syncer_(executor.make_blocking_worker()) {
  outbox_.transport = &host_;
}

Result<void> BrokerService::start(std::string* detail) {
  const Instant started = executor_.now();
  std::uint64_t replay_errors = 0;
  auto log = storage::SegmentLog::open(
      files_, options_.data_dir / "log", options_.log,
      [&](std::uint64_t seq, std::span<const std::uint8_t> body) {
        if (!broker_.replay(seq, body)) ++replay_errors;
      },
      detail);
  if (!log) return log.error();
  log_.emplace(std::move(log).value());
  journal_.log = &*log_;
  {
    const auto& r = log_->recovery();
    const auto s = broker_.stats();
    PEERMQ_LOG(info, "broker",
               "recovered %llu records in %.3f s: %llu messages stored, %llu dead letters, %llu "
               "answers (%llu torn bytes cut, %llu corrupt records skipped, %llu unreadable)",
               static_cast<unsigned long long>(r.records),
               std::chrono::duration<double>(executor_.now() - started).count(),
               static_cast<unsigned long long>(s.stored_messages),
               static_cast<unsigned long long>(s.dead_letters),
               static_cast<unsigned long long>(s.stored_answers),
               static_cast<unsigned long long>(r.torn_bytes),
               static_cast<unsigned long long>(r.corrupt_records),
               static_cast<unsigned long long>(replay_errors));
  }

  PEERMQ_LOG(info, "broker", "data in %s, -sync=%s", options_.data_dir.string().c_str(),
             storage::sync_policy_name(options_.log.sync));
  started_ = true;
  serve();
  return {};
}

void BrokerService::serve() {
  commit_hook_->start([this] {
    commit();
    after_input();
  });
  auto& transport = host_;
  transport.on_message([this, &transport](const PublicKey& peer,
                                          std::span<const std::uint8_t> bytes) {
    const Instant now = transport.now();
    // Messages come in runs from one peer: the broker is asked when the peer changes.
    if (!last_connected_ || *last_connected_ != peer) {
      if (!broker_.connected(peer)) broker_.on_connect(peer, now);
      last_connected_ = peer;
    }
    (void)broker_.on_message(peer, bytes, now);  // drops are counted by the broker
  });
  transport.on_writable([this](const PublicKey& peer) { broker_.on_writable(peer, executor_.now()); });
  // A restarted peer's deliveries go back to the queue; its hello comes again.
  transport.on_peer_reset([this](const PublicKey& peer) { disconnect(peer); });
  transport.on_peer_closed([this](const PublicKey& peer) { disconnect(peer); });
}

void BrokerService::disconnect(const PublicKey& peer) {
  if (last_connected_ == peer) last_connected_.reset();
  broker_.on_disconnect(peer, executor_.now());  // nothing when it has no connection
}

void BrokerService::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  if (on_failure_) on_failure_(why);
}

void BrokerService::commit() {
  if (failed_ || stopped_) return;
  if (journal_.failed) return fail("the log refused a record: " + journal_.error);
  storage::SegmentLog& log = *log_;
  if (log.pending_records() > 0) {
    if (auto w = log.write(executor_.now()); !w) return fail(log.last_error());
  }
  start_sync();
  if (failed_) return;
  settle();
}

void BrokerService::start_sync() {
  storage::SegmentLog& log = *log_;
  if (options_.log.sync == storage::SyncPolicy::none || syncer_->busy() ||
      log.written_seq() == log.synced_seq()) {
    return;  // a running sync calls again when it is done
  }
  const Instant now = executor_.now();
  const bool due = options_.log.sync == storage::SyncPolicy::batch
                       ? log.sync_due(now)
                       : broker_.stats().pending > 0 ||
                             now - log.unsynced_since() >= limits::kSyncAlwaysUngatedDelay;
  if (!due) return;  // after_input() set the timer
  auto job = log.begin_sync(now);
  if (!job) {  // no descriptor to spare: sync here
    if (!log.sync()) fail(log.last_error());
    return;
  }
  auto started = syncer_->start([job = *job] { return storage::SegmentLog::run_sync(job); },
                               [this, job = *job](int error) { on_synced(job, error); });
  if (!started && !log.finish_sync(*job, storage::SegmentLog::run_sync(*job))) {  // here, then
    fail(log.last_error());
  }
}

void BrokerService::on_synced(const storage::SyncJob& job, int error) {
  if (failed_ || stopped_) {
    (void)log_->finish_sync(job, error);  // stop() synced what matters
    return;
  }
  if (!log_->finish_sync(job, error)) return fail(log_->last_error());
  start_sync();  // what was written meanwhile; the disk is never idle while records wait
  if (failed_) return;
  settle();
  after_input();
}

void BrokerService::settle() {
  storage::SegmentLog& log = *log_;
  broker_.on_committed(log.stored_seq(), executor_.now());
  // The log may forget what the broker no longer needs (whole segments at a time).
  for (const std::uint64_t floor = broker_.live_floor(); released_below_ < floor;
       ++released_below_) {
    (void)log.release(released_below_);
  }
  // Confirms and deliveries leave now, not on the next loop iteration.
  host_.flush();
}

void BrokerService::after_input() {
  if (stopped_) return;
  const Instant next = broker_.next_deadline();
  if (next == Instant::max()) {
    broker_timer_->stop();
  } else {
    broker_timer_->start_at(next, [this] {
      broker_.on_timeout(executor_.now());
      after_input();
    });
  }
  const storage::SegmentLog& log = *log_;
  if (log.written_seq() > log.synced_seq() && !syncer_->busy()) {
    // A quiet log is synced in time too (the sync that is running calls back anyway).
    Instant at = Instant::max();
    if (options_.log.sync == storage::SyncPolicy::batch) at = log.sync_deadline();
    if (options_.log.sync == storage::SyncPolicy::always)
      at = log.unsynced_since() + limits::kSyncAlwaysUngatedDelay;
    if (at != Instant::max()) sync_timer_->start_at(at, [this] { commit(); });
  }
}

void BrokerService::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  commit_hook_->stop();
  broker_timer_->stop();
  sync_timer_->stop();
  if (!started_) return;
  if (log_->pending_records() > 0) (void)log_->commit(executor_.now());
  (void)log_->sync();
  // What the last commit confirmed leaves before the owner stops the host.
  settle();
  PEERMQ_LOG(info, "broker", "stopped");
}

}  // namespace peermq::service
