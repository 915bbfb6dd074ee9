#include "storage/segment_log.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "mq/log_record.hpp"
#include "log/log.hpp"
#include "storage/posix_file_system.hpp"

namespace peermq::storage {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kSegmentSuffix = ".log";
constexpr std::size_t kSegmentDigits = 20;  // UINT64_MAX has 20 decimal digits
constexpr const char* kLockFile = "LOCK";
constexpr std::string_view kDirPlaceholder = "{}";

// One sentence per error; "{}" stands for the data directory.
const char* advice(LogError e) {
  switch (e) {
    case LogError::disk_full:
      return "the disk holding {} is full: free space or point -data at another disk";
    case LogError::permission_denied:
      return "permission denied in {}: run peermq as a user allowed to write there, or point "
             "-data at a directory it owns";
    case LogError::read_only:
      return "{} is on a read-only file system: remount it read-write or point -data at "
             "another disk";
    case LogError::not_a_directory:
      return "{} is not a directory (it, or a part of its path, is a file): point -data at a "
             "directory; a missing one is created";
    case LogError::locked:
      return "another peermq process is using {}: stop it, or give each broker its own -data "
             "directory";
    case LogError::io_error:
      return "the disk holding {} reported an I/O error: check the disk (dmesg) and restart; "
             "recovery keeps every intact record";
    case LogError::empty_record: return "a log record must not be empty";
    case LogError::record_too_large:
      return "a log record is larger than the log accepts (limits::kLogRecordMaxBody)";
    case LogError::failed:
      return "the log in {} stopped after a failed sync, as what is on disk is no longer "
             "known: restart the broker to recover from the disk";
    case LogError::unknown_sync_policy:
      return "unknown sync policy: use one of always, batch, none";
  }
  return "unknown storage error";
}

std::string fill(LogError e, std::string_view dir) {
  std::string text = advice(e);
  if (auto at = text.find(kDirPlaceholder); at != std::string::npos)
    text.replace(at, kDirPlaceholder.size(), dir);
  return text;
}

std::string errno_text(int err) {
  return std::error_code(err, std::system_category()).message();
}

// The first sequence number in a segment file's name, or nothing for other files.
std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != kSegmentDigits + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix))
    return std::nullopt;
  std::uint64_t first = 0;
  const char* end = name.data() + kSegmentDigits;
  if (!std::all_of(name.data(), end, [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto [ptr, ec] = std::from_chars(name.data(), end, first);
  // Above UINT64_MAX, or 0: sequence numbers start at 1 (0 means "none").
  if (ec != std::errc{} || ptr != end || first == 0) return std::nullopt;
  return first;
}

// Recovery reads a segment this much at a time (more for a record that is larger), so
// that the bytes it scans are still in the CPU's cache and a 64 MiB segment costs no
// 64 MiB of memory.
constexpr std::size_t kScanChunk = 1 << 20;

struct SegmentScan {
  std::uint64_t records = 0;
  std::uint64_t valid_bytes = 0;  // of the records scanned
  std::error_code stop_reason;    // why the scan stopped before the end, if a bad record
};

// Reads `file` (`size` bytes) chunk by chunk into `buffer` and hands each valid record's
// body to `on_record`, in order, stopping at the first bad record or after `max_records`.
template <class OnRecord>
Result<SegmentScan> scan_file(File& file, std::uint64_t size, std::uint64_t max_records,
                              std::vector<std::uint8_t>& buffer, const OnRecord& on_record) {
  SegmentScan out;
  if (buffer.size() < kScanChunk) buffer.resize(kScanChunk);
  std::uint64_t start = 0;  // the file offset of buffer[0]
  std::size_t have = 0;     // bytes in the buffer
  for (;;) {
    if (start + have < size && have < buffer.size()) {
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size() - have, size - start - have));
      auto n = file.read(start + have, std::span(buffer).subspan(have, want));
      if (!n) return n.error();
      if (*n < want) size = start + have + *n;  // it shrank under us: what is there counts
      have += *n;
    }
    const bool at_end = start + have >= size;
    mq::RecordScanner scan{std::span<const std::uint8_t>(buffer.data(), have)};
    while (out.records < max_records) {
      auto record = scan.next();
      if (!record) break;
      on_record(record->body);
      ++out.records;
    }
    out.valid_bytes = start + scan.valid_bytes();
    if (out.records == max_records) return out;  // the rest runs into the next segment
    const std::error_code stop = scan.stop_reason();
    if (at_end || (stop && stop != mq::LogRecordError::truncated)) {
      out.stop_reason = stop;
      return out;
    }
    // The buffer ends inside a record: keep its start, read on.
    const std::size_t used = scan.valid_bytes();
    std::copy(buffer.begin() + static_cast<std::ptrdiff_t>(used),
              buffer.begin() + static_cast<std::ptrdiff_t>(have), buffer.begin());
    start += used;
    have -= used;
    if (have == buffer.size()) buffer.resize(buffer.size() * 2);  // a record larger than it
  }
}

}  // namespace

// ---- errors and policies ------------------------------------------------------------------

const char* describe(LogError e) {
  static const auto texts = [] {
    std::array<std::string, static_cast<std::size_t>(LogError::unknown_sync_policy) + 1> t;
    for (std::size_t i = 1; i < t.size(); ++i)
      t[i] = fill(static_cast<LogError>(i), "the data directory");
    return t;
  }();
  const auto i = static_cast<std::size_t>(e);
  return i > 0 && i < texts.size() ? texts[i].c_str() : "unknown storage error";
}

std::string explain(LogError e, const fs::path& dir) {
  return fill(e, dir.string());
}

LogError log_error_from_errno(int err) noexcept {
  switch (err) {
    case ENOSPC:
    case EDQUOT: return LogError::disk_full;
    case EACCES:
    case EPERM: return LogError::permission_denied;
    case EROFS: return LogError::read_only;
    case ENOTDIR:
    case EEXIST:  // mkdir(2): the path exists and is not a directory
      return LogError::not_a_directory;
    default: return LogError::io_error;
  }
}

Result<SyncPolicy> parse_sync_policy(std::string_view text) {
  for (auto p : {SyncPolicy::always, SyncPolicy::batch, SyncPolicy::none})
    if (text == sync_policy_name(p)) return p;
  return LogError::unknown_sync_policy;
}

const char* sync_policy_name(SyncPolicy policy) {
  switch (policy) {
    case SyncPolicy::always: return "always";
    case SyncPolicy::batch: return "batch";
    case SyncPolicy::none: return "none";
  }
  return "?";
}

std::string SegmentLog::segment_file_name(std::uint64_t first_seq) {
  char name[kSegmentDigits + 8];
  std::snprintf(name, sizeof name, "%020" PRIu64 ".log", first_seq);
  return name;
}

std::error_code SegmentLog::fail(LogError e, const std::string& what) {
  last_error_ = explain(e, dir_);
  if (!what.empty()) last_error_ += " (" + what + ")";
  return e;
}

std::error_code SegmentLog::fail_errno(int err, const std::string& what, const fs::path& file) {
  return fail(log_error_from_errno(err), what + " " + file.string() + ": " + errno_text(err));
}

std::error_code SegmentLog::fail_system(std::error_code ec, const std::string& what,
                                        const fs::path& file) {
  return fail_errno(ec.value(), what, file);
}

// ---- recovery -------------------------------------------------------------------------------

Result<SegmentLog> SegmentLog::open(const fs::path& dir, LogOptions options, const ReplayFn& replay,
                                    std::string* detail) {
  return open(posix_file_system(), dir, options, replay, detail);
}

Result<SegmentLog> SegmentLog::open(FileSystem& file_system, const fs::path& dir,
                                    LogOptions options, const ReplayFn& replay,
                                    std::string* detail) {
  SegmentLog log;
  log.file_system_ = &file_system;
  log.dir_ = dir;
  log.options_ = options;
  if (auto r = log.recover(replay); !r) {
    if (detail != nullptr) *detail = log.last_error_;
    return r.error();
  }
  return log;
}

Result<void> SegmentLog::recover(const ReplayFn& replay) {
  FileSystem& files = *file_system_;
  if (auto r = files.make_directories(dir_); !r) return fail_system(r.error(), "creating", dir_);
  const fs::path lock_file = dir_ / kLockFile;
  auto locked = files.lock(lock_file);
  if (!locked) {
    if (locked.error().value() == EWOULDBLOCK)
      return fail(LogError::locked, "lock " + lock_file.string());
    return fail_system(locked.error(), "locking", lock_file);
  }
  lock_ = std::move(*locked);

  auto names = files.list(dir_);
  if (!names) return fail_system(names.error(), "listing", dir_);
  std::vector<std::uint64_t> firsts;
  for (const std::string& name : *names) {
    if (auto first = parse_segment_name(name)) firsts.push_back(*first);
  }
  std::sort(firsts.begin(), firsts.end());

  std::vector<std::uint8_t> buffer;  // shared by the segments' scans
  for (std::size_t i = 0; i < firsts.size(); ++i) {
    const bool last = i + 1 == firsts.size();
    const std::uint64_t limit = last ? std::numeric_limits<std::uint64_t>::max() : firsts[i + 1];
    if (auto r = recover_segment(firsts[i], limit, last, replay, buffer); !r) return r;
  }
  // Their names too (a crash may have come between a create and its directory sync).
  if (!firsts.empty()) {
    if (auto r = sync_dir(); !r) return r;
  }
  if (segments_.empty()) {
    Segment& first = segments_[1];
    first.first_seq = 1;
    ++stats_.segments;
    active_first_seq_ = 1;
    if (auto r = create_segment(first); !r) return r;
  }
  const Segment& t = tail();
  next_seq_ = t.first_seq + t.records;
  written_seq_ = synced_seq_ = next_seq_ - 1;

  // A segment with no valid record is nothing but damage, and no release() would ever
  // free it.
  for (auto it = segments_.begin(); it != segments_.end();) {
    const auto first = (it++)->first;
    if (first != active_first_seq_ && segments_.at(first).records == 0) {
      PEERMQ_LOG(warn, "storage", "%s has no valid record; removed",
                 (dir_ / segment_file_name(first)).c_str());
      if (auto r = delete_segment(first); !r) return r;
      ++recovery_.empty_segments_removed;
    }
  }
  if (options_.sync == SyncPolicy::none && !firsts.empty()) {
    // Nothing was synced: what was read counts as written only, and the first sync()
    // covers every segment and the directory.
    synced_seq_ = segments_.begin()->first - 1;
    ++unsynced_elsewhere_;
  }
  return {};
}

Result<void> SegmentLog::recover_segment(std::uint64_t first_seq, std::uint64_t seq_limit,
                                         bool last, const ReplayFn& replay,
                                         std::vector<std::uint8_t>& buffer) {
  const fs::path file = dir_ / segment_file_name(first_seq);
  auto opened = file_system_->open(file, last ? OpenMode::read_write : OpenMode::read);
  if (!opened) return fail_system(opened.error(), "opening", file);
  std::shared_ptr<File> handle = std::move(*opened);
  auto file_size = handle->size();
  if (!file_size) return fail_system(file_size.error(), "reading the size of", file);
  const std::uint64_t size = *file_size;

  Segment seg;
  seg.first_seq = first_seq;
  seg.on_disk = true;
  auto scanned = scan_file(*handle, size, seq_limit - first_seq, buffer,
                           [&](std::span<const std::uint8_t> body) {
                             if (replay) replay(first_seq + seg.records, body);
                             ++seg.records;
                           });
  if (!scanned) return fail_system(scanned.error(), "reading", file);
  const std::uint64_t valid = scanned->valid_bytes;
  const std::error_code stop = scanned->stop_reason;
  seg.bytes = seg.written = valid;
  seg.live = seg.records;
  seg.dead.assign((seg.records + 63) / 64, 0);
  if (valid < size) {
    const std::uint64_t lost = size - valid;
    const bool torn = stop == mq::LogRecordError::truncated;
    const std::string why = stop ? stop.message() : std::string("records run into the next segment");
    if (last) {
      // A crash cut the last write short, or its bytes are damaged: cut the file back
      // to its valid records so that appends continue from there.
      PEERMQ_LOG(warn, "storage", "%s: %" PRIu64 " bytes at offset %" PRIu64 " cut off: %s",
                 file.c_str(), lost, valid, why.c_str());
      if (auto r = handle->truncate(valid); !r) return fail_system(r.error(), "truncating", file);
      recovery_.torn_bytes += lost;
      if (!torn) ++recovery_.corrupt_records;
    } else {
      PEERMQ_LOG(error, "storage",
                 "%s: damaged at offset %" PRIu64 " (%s); its %" PRIu64
                 " bytes from there on are not served",
                 file.c_str(), valid, why.c_str(), lost);
      ++recovery_.corrupt_records;
      recovery_.skipped_bytes += lost;
    }
  }
  if (options_.sync != SyncPolicy::none) {
    // What recovery read may still be only in the page cache (the last process died
    // between its write and its sync): make it durable before it counts as synced.
    if (auto r = handle->sync(); !r) return fail_system(r.error(), "syncing", file);
    ++stats_.fsyncs;
  }
  ++recovery_.segments;
  recovery_.records += seg.records;
  recovery_.bytes += valid;
  ++stats_.segments;
  stats_.disk_bytes += valid;
  stats_.live_records += seg.records;
  if (last) {
    active_ = std::move(handle);
    active_first_seq_ = first_seq;
  }
  segments_.emplace(first_seq, std::move(seg));
  return {};
}

// ---- appending and committing ---------------------------------------------------------------

Result<std::uint64_t> SegmentLog::append(std::span<const std::uint8_t> body) {
  if (failed_) return fail(LogError::failed, "");
  if (body.empty()) return fail(LogError::empty_record, "");
  if (body.size() > limits::kLogRecordMaxBody)
    return fail(LogError::record_too_large, std::to_string(body.size()) + " bytes");
  const std::size_t size = mq::record_size(body.size());
  if (Segment& old = tail(); old.bytes > 0 && old.bytes + size > options_.segment_size) {
    // The record opens a new segment; commit() creates its file when it gets there.
    if (old.live == 0) doomed_.push_back(old.first_seq);
    rolls_.push_back({buffer_.size(), next_seq_});
    segments_[next_seq_].first_seq = next_seq_;
    ++stats_.segments;
  }
  mq::append_record(buffer_, body);
  Segment& seg = tail();
  if (seg.records / 64 >= seg.dead.size()) seg.dead.push_back(0);
  ++seg.records;
  ++seg.live;
  seg.bytes += size;
  ++stats_.records_appended;
  ++stats_.live_records;
  stats_.disk_bytes += size;
  return next_seq_++;
}

Result<CommitResult> SegmentLog::commit(Instant now) {
  auto result = write(now);
  if (!result) return result;
  if (options_.sync == SyncPolicy::always ||
      (options_.sync == SyncPolicy::batch && sync_due(now))) {
    auto synced = sync();
    if (!synced) return synced.error();
    result->records_synced += *synced;
  }
  return result;
}

Result<CommitResult> SegmentLog::write(Instant now) {
  if (failed_) return fail(LogError::failed, "");
  CommitResult result;
  for (;;) {
    Segment& seg = segments_.at(active_first_seq_);
    if (!seg.on_disk) {
      if (auto r = create_segment(seg); !r) return r.error();
    }
    const std::size_t end = rolls_.empty() ? buffer_.size() : rolls_.front().buffer_offset;
    const std::uint64_t upto = rolls_.empty() ? next_seq_ - 1 : rolls_.front().first_seq - 1;
    if (end > 0) {
      if (auto r = write_chunk(seg, std::span(buffer_).first(end)); !r) return r.error();
      result.records_written += upto - written_seq_;
      stats_.records_written += upto - written_seq_;
      written_seq_ = upto;
      if (unsynced_since_ == Instant::max()) unsynced_since_ = now;
    }
    if (rolls_.empty()) {
      buffer_.clear();
      break;
    }
    // The active segment is complete: make it durable before leaving it, so that only
    // the active segment can ever hold unsynced records.
    if (options_.sync == SyncPolicy::none) {
      if (written_seq_ != synced_seq_) ++unsynced_elsewhere_;
    } else if (written_seq_ != synced_seq_) {
      auto synced = sync_file(*active_, written_seq_);
      if (!synced) return synced.error();
      result.records_synced += *synced;
    }
    active_.reset();
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(end));
    for (auto& roll : rolls_) roll.buffer_offset -= end;
    active_first_seq_ = rolls_.front().first_seq;
    rolls_.erase(rolls_.begin());
  }
  if (auto r = collect(); !r) {
    // The records are written; the segment is tried again at the next chance.
    PEERMQ_LOG(warn, "storage", "%s", last_error_.c_str());
  }
  return result;
}

Result<void> SegmentLog::write_chunk(Segment& seg, std::span<const std::uint8_t> bytes) {
  ++stats_.writes;
  if (auto r = active_->write(seg.written, bytes); !r) {
    ++stats_.write_errors;
    // Undo the part that may have made it, so the file ends with whole records and the
    // records can be written again by the next commit().
    if (!active_->truncate(seg.written)) failed_ = true;
    return fail_system(r.error(), "writing " + std::to_string(bytes.size()) + " bytes to",
                       dir_ / segment_file_name(seg.first_seq));
  }
  seg.written += bytes.size();
  stats_.bytes_written += bytes.size();
  return {};
}

Result<std::uint64_t> SegmentLog::sync_file(File& file, std::uint64_t upto_seq) {
  // After a failed fsync the kernel may have dropped the dirty pages and cleared the
  // error (the 2018 "fsyncgate"): retrying could report success for lost data.
  const std::uint64_t elsewhere = unsynced_elsewhere_;
  auto synced_file = elsewhere > synced_elsewhere_ ? file.sync_file_system() : file.sync();
  if (!synced_file) {
    failed_ = true;
    return fail_system(synced_file.error(), "syncing", dir_ / segment_file_name(active_first_seq_));
  }
  ++stats_.fsyncs;
  const std::uint64_t synced = upto_seq - synced_seq_;
  stats_.records_synced += synced;
  synced_seq_ = upto_seq;
  synced_elsewhere_ = elsewhere;
  if (synced_seq_ == written_seq_) unsynced_since_ = Instant::max();
  return synced;
}

std::optional<SyncJob> SegmentLog::begin_sync(Instant now) {
  if (failed_ || sync_running_ || synced_seq_ == written_seq_) return std::nullopt;
  sync_running_ = true;
  sync_started_at_ = now;
  job_elsewhere_ = unsynced_elsewhere_;  // what its syncfs covers, if it is one
  return SyncJob{active_, written_seq_, unsynced_elsewhere_ > synced_elsewhere_};
}

int SegmentLog::run_sync(const SyncJob& job) noexcept {
  auto synced = job.whole_file_system ? job.file->sync_file_system() : job.file->sync();
  return synced ? 0 : synced.error().value();
}

Result<std::uint64_t> SegmentLog::finish_sync(const SyncJob& job, int error) {
  sync_running_ = false;
  if (failed_) return fail(LogError::failed, "");
  if (error != 0) {
    // As in sync_file(): the kernel may have dropped the pages it could not write.
    failed_ = true;
    return fail_errno(error, "syncing", dir_ / segment_file_name(active_first_seq_));
  }
  ++stats_.fsyncs;
  if (job.whole_file_system) synced_elsewhere_ = std::max(synced_elsewhere_, job_elsewhere_);
  if (job.upto <= synced_seq_) return std::uint64_t{0};  // a roll synced them meanwhile
  const std::uint64_t synced = job.upto - synced_seq_;
  stats_.records_synced += synced;
  synced_seq_ = job.upto;
  // What is left was written after the job started.
  unsynced_since_ = synced_seq_ == written_seq_ ? Instant::max() : sync_started_at_;
  return synced;
}

Result<std::uint64_t> SegmentLog::sync() {
  if (failed_) return fail(LogError::failed, "");
  if (synced_seq_ == written_seq_) return std::uint64_t{0};
  return sync_file(*active_, written_seq_);
}

Instant SegmentLog::sync_deadline() const noexcept {
  if (options_.sync != SyncPolicy::batch || unsynced_since_ == Instant::max())
    return Instant::max();
  return unsynced_since_ + options_.sync_interval;
}

std::uint64_t SegmentLog::stored_seq() const noexcept {
  return options_.sync == SyncPolicy::always ? synced_seq_ : written_seq_;
}

Result<void> SegmentLog::create_segment(Segment& seg) {
  const fs::path file = dir_ / segment_file_name(seg.first_seq);
  // Emptied if it exists: a file of this name can only be left by an earlier attempt that
  // failed before writing anything, since recovery knows every segment file.
  auto created = file_system_->open(file, OpenMode::create);
  if (!created) return fail_system(created.error(), "creating", file);
  active_ = std::move(*created);
  seg.on_disk = true;
  ++stats_.segments_created;
  if (options_.sync == SyncPolicy::none) ++unsynced_elsewhere_;  // its name: for sync()
  return sync_dir();
}

Result<void> SegmentLog::sync_dir() {
  if (options_.sync == SyncPolicy::none) return {};
  if (auto r = file_system_->sync_directory(dir_); !r) {
    failed_ = true;
    return fail_system(r.error(), "syncing the directory", dir_);
  }
  ++stats_.dir_syncs;
  return {};
}

// ---- release and deletion -------------------------------------------------------------------

Result<void> SegmentLog::release(std::uint64_t seq) {
  auto it = segments_.upper_bound(seq);
  if (it == segments_.begin()) return {};
  --it;
  Segment& seg = it->second;
  const std::uint64_t index = seq - seg.first_seq;
  if (index >= seg.records) return {};
  std::uint64_t& word = seg.dead[index / 64];
  const std::uint64_t bit = std::uint64_t{1} << (index % 64);
  if ((word & bit) != 0) return {};
  word |= bit;
  --seg.live;
  --stats_.live_records;
  if (seg.live == 0 && it->first != segments_.rbegin()->first) doomed_.push_back(it->first);
  return collect();
}

bool SegmentLog::holds(std::uint64_t seq) const noexcept {
  auto it = segments_.upper_bound(seq);
  if (it == segments_.begin()) return false;
  --it;
  return seq - it->first < it->second.records;
}

Result<void> SegmentLog::collect() {
  if (doomed_.empty() || failed_) return {};
  Result<void> result;
  std::vector<std::uint64_t> later;
  for (const std::uint64_t first : doomed_) {
    // Segments behind the active one are complete and closed; later ones still wait
    // for commit() to write them.
    if (first >= active_first_seq_) {
      later.push_back(first);
    } else if (auto r = delete_segment(first); !r) {
      later.push_back(first);
      result = r;
    }
  }
  doomed_ = std::move(later);
  return result;
}

Result<void> SegmentLog::delete_segment(std::uint64_t first_seq) {
  const fs::path file = dir_ / segment_file_name(first_seq);
  if (auto r = file_system_->remove(file); !r && r.error().value() != ENOENT)
    return fail_system(r.error(), "deleting", file);
  const Segment& seg = segments_.at(first_seq);
  --stats_.segments;
  stats_.disk_bytes -= seg.bytes;
  stats_.live_records -= seg.live;
  ++stats_.segments_deleted;
  segments_.erase(first_seq);
  if (options_.sync == SyncPolicy::none) ++unsynced_elsewhere_;
  // Made durable so that a crash cannot bring back records the caller let go of.
  return sync_dir();
}

}  // namespace peermq::storage
