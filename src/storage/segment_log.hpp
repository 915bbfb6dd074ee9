// SegmentLog: the broker's durable storage, an append-only log split into segment files,
// kept on a FileSystem (storage/file_system.hpp: the real disk, or a simulated one).
//
//   <dir>/00000000000000000001.log   records 1 ..
//   <dir>/00000000000000052113.log   records 52113 .. (the name is its first sequence number)
//   <dir>/LOCK                       locked (FileSystem::lock) while a log has the directory open
//
// Each record (mq/log_record.hpp: length, CRC32C, opaque body) gets a 64-bit sequence
// number, one more than the record before it, across segments and restarts. A segment is
// rolled once it reaches LogOptions::segment_size.
//
// Group commit: append() only frames the record into one in-memory buffer and returns
// its sequence number (no call into the FileSystem); commit() hands the whole buffer to
// the file system with one File::write (pwrite(2)) per segment touched and then, per the
// sync policy, one File::sync (fdatasync(2)). So a caller appends every message that
// arrived in a loop iteration, commits once, and confirms them all together:
//   always  commit() returns after fdatasync: what it wrote survives a power cut;
//   batch   commit() writes, and syncs too once the oldest unsynced write is older than
//           LogOptions::sync_interval; call sync() at sync_deadline() so that a quiet log
//           is synced in time as well;
//   none    never fdatasync unless sync() is called; the kernel writes back when it likes.
// stored_seq() is the last record that counts as stored under the policy (synced for
// always, written for the others): confirm up to it. Creating and deleting a segment is
// followed by a sync of the directory (always, batch).
//
// Syncing off the caller's thread: write() is commit() without the policy's final sync,
// and begin_sync() / run_sync() / finish_sync() split sync() in three, so that the
// fdatasync can run on another thread while the caller keeps appending and writing (the
// broker's group commit: the loop receives the next batch while the disk works). Only
// run_sync() may run elsewhere; it touches nothing of the log, only the job's own share
// of the segment file (File::sync may run on another thread while the log writes). On a
// FileSystem that is single-threaded (the simulated disk), call run_sync() on the log's
// thread. stored_seq() moves only in finish_sync(), so what is confirmed is still what
// was synced.
//
// Recovery (open): every segment is scanned and each valid record is replayed, in
// order, to the caller, who rebuilds its index. The last segment is truncated at its
// first bad record (a torn write after a crash). Any other segment is served only up to
// its first bad record; the rest of it is counted and logged, never served. A record
// that fails its CRC is never replayed. The process before may have died between a write
// and its sync, so under always and batch recovery syncs every segment it read, and the
// directory, before what it read counts as synced; under none it counts as written.
//
// Deletion: every record starts live; release(seq) marks one dead (acknowledged,
// expired, superseded). A segment whose records are all dead is removed, unless it is
// the segment being appended to. The caller must release only records whose loss after
// a crash is harmless (an acknowledgement record must outlive the record it
// acknowledges: holds(seq) tells whether a record is still on disk).
//
// Errors are typed (LogError) and the detail string names the path and the system
// error; full disks, permissions and read-only file systems say what to do. After a
// failed fdatasync (or a failed clean-up of a failed write) the file's state is unknown,
// so the log refuses further writes (LogError::failed): restart, and recovery reads
// what really is on disk. A failed write of a commit is rolled back and its records stay
// pending, so commit() can simply be called again once the disk has room.
//
// Threads: not thread-safe; one thread at a time (run_sync() excepted, see above). Every
// call but append(), begin_sync() and finish_sync() may block on the disk, so a broker runs
// the log where blocking is allowed. Moving is fine, even with a job out (the job holds
// no pointer to the log); the destructor closes the files without syncing (pending
// records are lost, as in a crash). The FileSystem outlives the log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "storage/file_system.hpp"
#include "wire/limits.hpp"

namespace peermq::storage {

enum class SyncPolicy { always, batch, none };

// "always" | "batch" | "none", as -sync takes them.
Result<SyncPolicy> parse_sync_policy(std::string_view text);
const char* sync_policy_name(SyncPolicy policy);

enum class LogError {
  disk_full = 1,      // ENOSPC, EDQUOT
  permission_denied,  // EACCES, EPERM
  read_only,          // EROFS
  not_a_directory,    // the data path, or a part of it, is a file
  locked,             // another log holds the directory
  io_error,           // EIO and anything else the system reports
  empty_record,       // append() of an empty body
  record_too_large,   // append() of a body above limits::kLogRecordMaxBody
  failed,             // an earlier sync failed: the log writes nothing more
  unknown_sync_policy,
};
const char* describe(LogError e);
inline const char* category_name(LogError) {
  return "peermq.storage.log";
}
PEERMQ_ERROR_ENUM(LogError)

// The error a system call's errno becomes: disk_full, permission_denied, ... io_error.
LogError log_error_from_errno(int err) noexcept;
// What a user reads: the error's advice with `dir` in it, e.g. "the disk holding
// /var/lib/peermq is full: free space or point -data at another disk".
std::string explain(LogError e, const std::filesystem::path& dir);

struct LogOptions {
  SyncPolicy sync = SyncPolicy::batch;
  // Roll to a new segment once the current one would grow past this. A record larger
  // than this gets a segment of its own.
  std::size_t segment_size = limits::kLogSegmentSize;
  // `batch` policy: the longest a written record waits for fdatasync.
  Duration sync_interval = limits::kSyncBatchIntervalDefault;
};

// Called by open() once per valid record, in sequence order. `body` is valid only during
// the call.
using ReplayFn = std::function<void(std::uint64_t seq, std::span<const std::uint8_t> body)>;

// What open() found on disk.
struct RecoveryReport {
  std::uint64_t segments = 0;                // segment files scanned
  std::uint64_t records = 0;                 // records replayed
  std::uint64_t bytes = 0;                   // bytes of the records replayed
  std::uint64_t torn_bytes = 0;              // cut off the end of the last segment
  std::uint64_t corrupt_records = 0;         // bad records found (none of them was replayed)
  std::uint64_t skipped_bytes = 0;           // left unserved in other segments after a bad record
  std::uint64_t empty_segments_removed = 0;  // segments with no valid record, unlinked
};

struct LogStats {
  // Now.
  std::uint64_t segments = 0;      // segment files, counting those commit() has yet to create
  std::uint64_t disk_bytes = 0;    // bytes of records in them, written or pending
  std::uint64_t live_records = 0;  // records not released
  // Since open().
  std::uint64_t records_appended = 0;
  std::uint64_t records_written = 0;  // handed to the kernel by commit()
  std::uint64_t bytes_written = 0;
  std::uint64_t writes = 0;          // File::write calls (pwrite(2))
  std::uint64_t fsyncs = 0;          // File::sync (fdatasync(2)) of segment files
  std::uint64_t dir_syncs = 0;       // sync_directory after creating or removing a segment
  std::uint64_t records_synced = 0;  // records made durable by those fdatasyncs
  std::uint64_t segments_created = 0;
  std::uint64_t segments_deleted = 0;
  std::uint64_t write_errors = 0;  // failed commits (rolled back, records kept pending)

  double records_per_fsync() const noexcept {
    return fsyncs == 0 ? 0.0 : static_cast<double>(records_synced) / static_cast<double>(fsyncs);
  }
};

struct CommitResult {
  std::uint64_t records_written = 0;  // records this call handed to the kernel
  std::uint64_t records_synced = 0;   // records this call made durable with fdatasync
};

// What one fdatasync on another thread covers (SegmentLog::begin_sync).
// Self-contained: it shares the segment file with the log (a roll may close the log's
// share while the job runs) and points at nothing else, so it can be copied to another
// thread.
struct SyncJob {
  std::shared_ptr<File> file;      // the segment to sync, for run_sync only
  std::uint64_t upto = 0;          // the last record it makes durable
  bool whole_file_system = false;  // syncfs(2): `none` left more than the segment unsynced
};

class SegmentLog {
 public:
  // Opens (creating it and its parents if needed) the log in `dir` on `file_system` and
  // replays every valid record to `replay`. On failure `detail`, if given, says what
  // failed where. `file_system` must outlive the log.
  static Result<SegmentLog> open(FileSystem& file_system, const std::filesystem::path& dir,
                                 LogOptions options, const ReplayFn& replay,
                                 std::string* detail = nullptr);
  // The same on the real disk (posix_file_system()).
  static Result<SegmentLog> open(const std::filesystem::path& dir, LogOptions options,
                                 const ReplayFn& replay, std::string* detail = nullptr);

  // A moved-from log may only be destroyed or assigned to.
  SegmentLog(SegmentLog&&) noexcept = default;
  SegmentLog& operator=(SegmentLog&&) noexcept = default;
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;
  ~SegmentLog() = default;

  // Frames `body` into the write buffer (a copy: the caller keeps its bytes) and returns
  // the record's sequence number. Nothing reaches the disk before commit().
  // Errors: empty_record, record_too_large, failed.
  Result<std::uint64_t> append(std::span<const std::uint8_t> body);

  // Writes every pending record, then syncs per the policy (see the top of this file).
  // On an error, the records not written stay pending for the next commit(), and
  // written_seq() / synced_seq() say how far this call got.
  Result<CommitResult> commit(Instant now);
  // The same without the final sync of the policy: the caller syncs (sync(), or the three
  // calls below). A segment completed by the write is still synced before it is left (for
  // `always` and `batch`), so that only the active segment ever holds unsynced records.
  Result<CommitResult> write(Instant now);

  // Starts a sync of what is written and not synced: the job for run_sync(). nullopt when
  // nothing waits, while a job is out, or after a failure.
  std::optional<SyncJob> begin_sync(Instant now);
  // File::sync() (or sync_file_system()) of the job's file: 0 or an errno. Any thread the
  // FileSystem allows; it touches no log. The job's copies close the file when the last
  // of them (or the log's own share) goes.
  static int run_sync(const SyncJob& job) noexcept;
  // Takes run_sync()'s result (`error`) back: the job's records count as synced, or the log
  // fails (LogError::failed from then on). Returns the records it made durable.
  Result<std::uint64_t> finish_sync(const SyncJob& job, int error);
  // A job from begin_sync() awaits finish_sync().
  bool sync_running() const noexcept { return sync_running_; }
  // When the oldest written, unsynced record was written (Instant::max() if none).
  Instant unsynced_since() const noexcept { return unsynced_since_; }

  // fdatasync of what commit() wrote and nobody synced yet, whatever the policy. Returns
  // the records it made durable (0, with no system call, when there were none).
  Result<std::uint64_t> sync();
  // When the `batch` policy needs sync() called: Instant::max() if nothing waits, or for
  // the other policies.
  Instant sync_deadline() const noexcept;
  bool sync_due(Instant now) const noexcept { return now >= sync_deadline(); }

  // Marks record `seq` dead; unlinks segments left with no live record. Releasing a
  // record twice, or one the log does not hold, changes nothing. Errors come only from
  // unlinking (the segment stays and is tried again by the next release or commit).
  Result<void> release(std::uint64_t seq);
  // Whether record `seq` is in the log (pending, written or synced), not yet deleted.
  bool holds(std::uint64_t seq) const noexcept;

  std::uint64_t next_seq() const noexcept { return next_seq_; }
  // The last record handed to the kernel / made durable / stored per the policy; 0 (or
  // the record before the first one this process appended) when there is none. Recovery
  // syncs what it read under always and batch; under none it counts as written, not
  // synced, until a sync().
  std::uint64_t written_seq() const noexcept { return written_seq_; }
  std::uint64_t synced_seq() const noexcept { return synced_seq_; }
  std::uint64_t stored_seq() const noexcept;
  std::size_t pending_records() const noexcept {
    return static_cast<std::size_t>(next_seq_ - 1 - written_seq_);
  }

  const LogStats& stats() const noexcept { return stats_; }
  const RecoveryReport& recovery() const noexcept { return recovery_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const LogOptions& options() const noexcept { return options_; }
  // Detail of the last failed call: the path, the operation and the system's message.
  const std::string& last_error() const noexcept { return last_error_; }

  // "00000000000000000001.log": the file holding the segment that starts at `first_seq`.
  static std::string segment_file_name(std::uint64_t first_seq);

 private:
  struct Segment {
    std::uint64_t first_seq = 0;
    std::uint64_t records = 0;        // appended so far, pending ones included
    std::uint64_t bytes = 0;          // bytes of those records
    std::uint64_t written = 0;        // bytes of them in the file
    std::uint64_t live = 0;           // records not released
    std::vector<std::uint64_t> dead;  // bit per record, set by release()
    bool on_disk = false;             // the file exists
  };
  // A pending segment starts at this buffer offset.
  struct PendingRoll {
    std::size_t buffer_offset = 0;
    std::uint64_t first_seq = 0;
  };

  SegmentLog() = default;
  Result<void> recover(const ReplayFn& replay);
  Result<void> recover_segment(std::uint64_t first_seq, std::uint64_t seq_limit, bool last,
                               const ReplayFn& replay, std::vector<std::uint8_t>& buffer);
  Result<void> create_segment(Segment& segment);
  Result<void> write_chunk(Segment& segment, std::span<const std::uint8_t> bytes);
  Result<std::uint64_t> sync_file(File& file, std::uint64_t upto_seq);
  Result<void> sync_dir();
  Result<void> collect();
  Result<void> delete_segment(std::uint64_t first_seq);
  Segment& tail() { return segments_.rbegin()->second; }
  std::error_code fail(LogError e, const std::string& what);
  std::error_code fail_errno(int err, const std::string& what, const std::filesystem::path& file);
  std::error_code fail_system(std::error_code ec, const std::string& what,
                              const std::filesystem::path& file);

  std::unique_ptr<FileLock> lock_;  // first, so the lock is the last thing released
  FileSystem* file_system_ = nullptr;
  std::shared_ptr<File> active_;  // the file commit() writes into; a sync job may share it
  std::filesystem::path dir_;
  LogOptions options_;
  std::uint64_t active_first_seq_ = 0;         // its segment
  std::map<std::uint64_t, Segment> segments_;  // by first sequence number
  std::vector<std::uint8_t> buffer_;           // pending records, framed
  std::vector<PendingRoll> rolls_;             // segments that begin inside buffer_
  std::vector<std::uint64_t> doomed_;          // segments to unlink once they are written
  std::uint64_t next_seq_ = 1;
  std::uint64_t written_seq_ = 0;
  std::uint64_t synced_seq_ = 0;
  Instant unsynced_since_ = Instant::max();
  // Counts what `none` left unsynced that fdatasync of the active segment does not cover
  // (a closed segment, a created or removed name, what recovery read), and how much of
  // that the last syncfs covered (and the running job's will): sync with syncfs while
  // the first is ahead.
  std::uint64_t unsynced_elsewhere_ = 0;
  std::uint64_t synced_elsewhere_ = 0;
  std::uint64_t job_elsewhere_ = 0;
  bool sync_running_ = false;     // begin_sync() handed out a job
  Instant sync_started_at_{};     // when it did
  bool failed_ = false;
  LogStats stats_;
  RecoveryReport recovery_;
  std::string last_error_;
};

}  // namespace peermq::storage

PEERMQ_ERROR_ENUM_STD(peermq::storage::LogError)
