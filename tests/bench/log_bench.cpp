// log_bench: what the broker's segment log does on this machine's disk.
//
//   log_bench [RUNS] [DIR]    each figure is the median of RUNS runs (default 3); the log
//                             lives in a fresh directory under DIR (default /tmp), removed
//                             at the end
//
// Prints three tables:
//   - appends per second of 100-byte records under each sync policy, committed in groups
//     of 1, 32 and 256 records (one commit per group: the group commit the broker does
//     per loop iteration), with the fsyncs that cost;
//   - fsync latency: commit() of one record under `always`, and a bare pwrite+fdatasync
//     of the same size on a plain file, for reference;
//   - recovery of 1,000,000 100-byte records: open() with the files in the page cache
//     (a restart) and with them dropped from it (posix_fadvise DONTNEED on the segment
//     files only, so a cold read from the disk, as after a reboot).
// Timings never fail anything: this is a program, not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <peermq/clock.hpp>

#include "storage/segment_log.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using peermq::storage::LogOptions;
using peermq::storage::SegmentLog;
using peermq::storage::SyncPolicy;

constexpr std::size_t kBody = 100;
constexpr auto kCellTime = std::chrono::milliseconds(700);
int g_runs = 3;
fs::path g_base = "/tmp";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "log_bench: %s\n", what.c_str());
  std::exit(1);
}

// A fresh directory for one measurement, removed afterwards.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (g_base / "peermq_log_bench_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      die("cannot create a directory in " + g_base.string());
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
    // Settle the deletion (journal commit, and TRIM on file systems mounted with
    // `discard`) now, so it does not slow the next measurement's fsyncs.
    const int fd = ::open(g_base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::syncfs(fd);
      ::close(fd);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

SegmentLog open_log(const fs::path& dir, SyncPolicy sync,
                    const peermq::storage::ReplayFn& replay = nullptr) {
  LogOptions options;
  options.sync = sync;
  std::string detail;
  auto log = SegmentLog::open(dir, options, replay, &detail);
  if (!log) die(detail);
  return std::move(*log);
}

peermq::Instant now() {
  return peermq::SystemClock().now();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct AppendRun {
  double appends_per_second = 0;
  double fsyncs_per_second = 0;
  double records_per_fsync = 0;
};

// Appends and commits groups of `group` records for kCellTime.
AppendRun append_run(SyncPolicy sync, std::size_t group) {
  ScratchDir dir;
  SegmentLog log = open_log(dir.path, sync);
  const std::vector<std::uint8_t> body(kBody, 0x42);
  const auto fsyncs_before = log.stats().fsyncs;
  const auto synced_before = log.stats().records_synced;
  std::uint64_t records = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < kCellTime) {
    for (std::size_t i = 0; i < group; ++i)
      if (!log.append(body)) die(log.last_error());
    if (!log.commit(now())) die(log.last_error());
    records += group;
  }
  // What a broker's timer does for `batch` once the load stops.
  if (sync == SyncPolicy::batch && !log.sync()) die(log.last_error());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto fsyncs = log.stats().fsyncs - fsyncs_before;
  const auto synced = log.stats().records_synced - synced_before;
  return {static_cast<double>(records) / seconds, static_cast<double>(fsyncs) / seconds,
          fsyncs == 0 ? 0.0 : static_cast<double>(synced) / static_cast<double>(fsyncs)};
}

// Microseconds per commit() of one record under `always`.
std::vector<double> commit_latencies(int count) {
  ScratchDir dir;
  SegmentLog log = open_log(dir.path, SyncPolicy::always);
  const std::vector<std::uint8_t> body(kBody, 0x42);
  std::vector<double> us;
  for (int i = 0; i < count; ++i) {
    if (!log.append(body)) die(log.last_error());
    const auto start = Clock::now();
    if (!log.commit(now())) die(log.last_error());
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return us;
}

// Microseconds per pwrite of 108 bytes plus fdatasync on a plain file: the floor.
std::vector<double> raw_fdatasync_latencies(int count) {
  ScratchDir dir;
  const fs::path file = dir.path / "raw";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("cannot create " + file.string());
  const std::vector<std::uint8_t> record(kBody + 8, 0x42);
  std::vector<double> us;
  off_t offset = 0;
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    if (::pwrite(fd, record.data(), record.size(), offset) != static_cast<ssize_t>(record.size()) ||
        ::fdatasync(fd) != 0)
      die("write or fdatasync failed on " + file.string());
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    offset += static_cast<off_t>(record.size());
  }
  ::close(fd);
  return us;
}

// Drops the segment files' pages from the page cache (theirs only, not the machine's).
void evict(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".log") continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("cannot open " + entry.path().string());
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

struct Recovery {
  double write_seconds = 0;
  double warm_seconds = 0;
  double cold_seconds = 0;
  std::uint64_t segments = 0;
  std::uint64_t bytes = 0;
};

Recovery recovery_run(std::uint64_t records) {
  ScratchDir dir;
  Recovery out;
  const std::vector<std::uint8_t> body(kBody, 0x42);
  {
    SegmentLog log = open_log(dir.path, SyncPolicy::none);
    const auto start = Clock::now();
    for (std::uint64_t i = 0; i < records; ++i) {
      if (!log.append(body)) die(log.last_error());
      if (i % 256 == 255 && !log.commit(now())) die(log.last_error());
    }
    if (!log.commit(now()) || !log.sync()) die(log.last_error());  // clean pages can be evicted
    out.write_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  auto timed_open = [&] {
    std::uint64_t seen = 0;
    const auto start = Clock::now();
    SegmentLog log = open_log(dir.path, SyncPolicy::none,
                              [&](std::uint64_t, std::span<const std::uint8_t>) { ++seen; });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (seen != records) die("recovery replayed " + std::to_string(seen) + " records");
    out.segments = log.recovery().segments;
    out.bytes = log.recovery().bytes;
    return seconds;
  };
  out.warm_seconds = timed_open();
  evict(dir.path);
  out.cold_seconds = timed_open();
  return out;
}

void rule(const std::vector<int>& widths) {
  for (int w : widths)
    std::printf("|%s", std::string(static_cast<std::size_t>(w + 2), '-').c_str());
  std::printf("|\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_runs = std::max(1, std::atoi(argv[1]));
  if (argc > 2) g_base = argv[2];
  double load = 0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  // fsync latency depends on what else the machine and its disk are doing: say so.
  std::printf("log_bench: median of %d runs, %zu-byte records, log in %s, load average %.2f\n\n",
              g_runs, kBody, g_base.c_str(), load);

  std::printf("| %-6s | %5s | %12s | %10s | %13s | %8s |\n", "sync", "group", "appends/s",
              "fsyncs/s", "records/fsync", "MB/s");
  rule({6, 5, 12, 10, 13, 8});
  for (SyncPolicy sync : {SyncPolicy::none, SyncPolicy::batch, SyncPolicy::always}) {
    for (std::size_t group : {std::size_t{1}, std::size_t{32}, std::size_t{256}}) {
      std::vector<double> rate, fsyncs, per;
      for (int r = 0; r < g_runs; ++r) {
        const AppendRun run = append_run(sync, group);
        rate.push_back(run.appends_per_second);
        fsyncs.push_back(run.fsyncs_per_second);
        per.push_back(run.records_per_fsync);
      }
      const double appends = median(rate);
      std::printf("| %-6s | %5zu | %12.0f | %10.0f | %13.1f | %8.1f |\n",
                  peermq::storage::sync_policy_name(sync), group, appends, median(fsyncs),
                  median(per), appends * (kBody + 8) / 1e6);
    }
  }

  const int samples = 500;
  std::vector<double> commit_us, raw_us;
  for (int r = 0; r < g_runs; ++r) {
    auto c = commit_latencies(samples);
    auto w = raw_fdatasync_latencies(samples);
    commit_us.insert(commit_us.end(), c.begin(), c.end());
    raw_us.insert(raw_us.end(), w.begin(), w.end());
  }
  std::printf("\n| %-44s | %9s | %9s | %9s |\n", "fsync latency, microseconds", "p50", "p99",
              "max");
  rule({44, 9, 9, 9});
  std::printf("| %-44s | %9.0f | %9.0f | %9.0f |\n", "commit() of 1 record, sync=always",
              percentile(commit_us, 0.5), percentile(commit_us, 0.99), percentile(commit_us, 1.0));
  std::printf("| %-44s | %9.0f | %9.0f | %9.0f |\n", "bare pwrite(108 B) + fdatasync, plain file",
              percentile(raw_us, 0.5), percentile(raw_us, 0.99), percentile(raw_us, 1.0));

  const std::uint64_t records = 1'000'000;
  std::vector<double> write_s, warm_s, cold_s;
  Recovery last;
  for (int r = 0; r < g_runs; ++r) {
    last = recovery_run(records);
    write_s.push_back(last.write_seconds);
    warm_s.push_back(last.warm_seconds);
    cold_s.push_back(last.cold_seconds);
  }
  std::printf("\n| %-56s | %9s | %12s |\n", "1,000,000 records of 100 B", "seconds", "records/s");
  rule({56, 9, 12});
  std::printf("| %-56s | %9.3f | %12.0f |\n", "write (sync=none, groups of 256, one final sync)",
              median(write_s), static_cast<double>(records) / median(write_s));
  char what[96];
  std::snprintf(what, sizeof what, "recovery, files in the page cache (%llu segments, %.0f MB)",
                static_cast<unsigned long long>(last.segments),
                static_cast<double>(last.bytes) / 1e6);
  std::printf("| %-56s | %9.3f | %12.0f |\n", what, median(warm_s),
              static_cast<double>(records) / median(warm_s));
  std::printf("| %-56s | %9.3f | %12.0f |\n", "recovery, files evicted: read from the disk",
              median(cold_s), static_cast<double>(records) / median(cold_s));
  return 0;
}
