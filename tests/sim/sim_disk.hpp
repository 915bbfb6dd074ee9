// SimDisk: a simulated disk behind storage::FileSystem, deterministic and seeded, for
// crash tests of the storage layer and, later, of the whole broker in the simulator.
//
// The model. Per file: its contents as reads see them, its durable contents (what a
// crash keeps) and the writes and truncates since its last completed sync. Per
// directory: its entries as lookups see them, its durable entries, and the creates,
// renames and removes since its last directory sync (one list, in the order they
// happened, for the whole disk). sync() of a file makes its changes durable;
// sync_directory() those of one directory; sync_file_system() everything.
//
// Faults it injects, and what must survive each (every chance is out of 100, drawn from
// the seed, and defaults to 0):
//   crash()                        the power cut. Everything synced survives: a file's
//                                  contents up to its last completed sync(), a directory's
//                                  entries up to its last completed sync_directory().
//                                  Everything else is lost, except as below. Locks are
//                                  released and every open handle dies (EBADF).
//   crash_keeps_write              chance that a crash keeps a file's unsynced write (or
//                                  truncate) whole: the page cache wrote it back before
//                                  the cut. Drawn per write, so a later write can survive
//                                  an earlier one (a gap before it reads as zeros).
//   crash_tears_write              chance that the last unsynced write of a file survives
//                                  torn instead: a prefix of 1 .. n-1 of its n bytes.
//                                  Only writes after the file's last sync are ever torn or
//                                  lost.
//   crash_keeps_directory_change   chance that a crash keeps an unsynced directory change
//                                  (a create, a rename, a remove), drawn in the order they
//                                  happened until the first one lost: a metadata journal
//                                  commits in order. A rename within one directory is one
//                                  change; across two, one change in each.
//   a failed sync()                (inject a Fault on DiskOp::sync) returns the error and,
//                                  as Linux does (PostgreSQL's "fsyncgate"), forgets the
//                                  writes it should have made durable: reads still see
//                                  them, no later sync() covers them, a crash loses them.
//   inject(Fault)                  the next call (or `times` calls, or every call) of an
//                                  operation on a path, or on any path, fails with the
//                                  given errno (EIO, EACCES, EROFS, ...) and changes
//                                  nothing (a failed sync as above).
//   capacity                       bytes of file contents the disk holds: a write or
//                                  truncate that would grow the files past it writes what
//                                  fits and fails with ENOSPC (disk full); shrinking and
//                                  overwriting in place always work.
//
// Simplifications: rename() and remove() take files only; a handle's path for fault
// matching is the path it was opened by; used bytes count the files the directory tree
// holds now, not unlinked files still open. Paths are absolute (a relative one is taken
// from the root); "/" always exists.
//
// Ownership: handles hold their file (a removed file lives on while a handle has it), and
// must not outlive the SimDisk. Threads: none; a simulator runs the log's off-thread
// syncs (SegmentLog::run_sync) on its own thread.
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/file_system.hpp"

namespace peermq::sim {

struct SimDiskOptions {
  std::uint64_t seed = 1;
  unsigned crash_keeps_write = 0;             // out of 100, per unsynced write
  unsigned crash_tears_write = 0;             // out of 100, per file's last unsynced write
  unsigned crash_keeps_directory_change = 0;  // out of 100, per change, in order
  std::uint64_t capacity = std::numeric_limits<std::uint64_t>::max();  // bytes
};

// What inject() can make fail.
enum class DiskOp {
  open,            // open() of an existing file, read or read_write
  create,          // open() with OpenMode::create
  read,
  write,
  truncate,
  sync,            // File::sync() and File::sync_file_system()
  list,
  make_directory,  // make_directories()
  rename,          // matched on either path
  remove,
  sync_directory,
  lock,
};

struct Fault {
  DiskOp op = DiskOp::write;
  int error = EIO;             // the errno it fails with
  std::filesystem::path path;  // empty: any path; else this one and everything under it
  int times = 1;               // calls it fails; negative: every call until clear_faults()
};

struct SimDiskStats {
  std::uint64_t crashes = 0;
  std::uint64_t writes_lost = 0;  // unsynced writes and truncates a crash dropped
  std::uint64_t writes_kept = 0;  // ... a crash kept whole
  std::uint64_t writes_torn = 0;  // ... a crash kept a prefix of
  std::uint64_t directory_changes_lost = 0;
  std::uint64_t directory_changes_kept = 0;
  std::uint64_t syncs = 0;            // completed File::sync and sync_file_system
  std::uint64_t directory_syncs = 0;  // completed sync_directory
  std::uint64_t faults = 0;           // calls failed by inject() or capacity
};

class SimDisk final : public storage::FileSystem {
 public:
  explicit SimDisk(SimDiskOptions options = {});
  ~SimDisk() override;

  Result<std::unique_ptr<storage::File>> open(const std::filesystem::path& path,
                                              storage::OpenMode mode) override;
  Result<void> make_directories(const std::filesystem::path& dir) override;
  Result<std::vector<std::string>> list(const std::filesystem::path& dir) override;
  Result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Result<void> remove(const std::filesystem::path& path) override;
  Result<void> sync_directory(const std::filesystem::path& dir) override;
  Result<std::unique_ptr<storage::FileLock>> lock(const std::filesystem::path& path) override;

  // The power cut (see the top of this file). The disk goes on at once, as after a reboot.
  void crash();

  void inject(Fault fault);
  void clear_faults();
  void set_capacity(std::uint64_t bytes) { options_.capacity = bytes; }
  // Bytes of the files in the directory tree now.
  std::uint64_t used_bytes() const;

  const SimDiskOptions& options() const noexcept { return options_; }
  const SimDiskStats& stats() const noexcept { return stats_; }

 private:
  struct Node;
  using NodePtr = std::shared_ptr<Node>;
  // A write, or a truncate to `offset`, not yet synced.
  struct Change {
    std::uint64_t offset = 0;
    std::vector<std::uint8_t> bytes;
    bool truncate = false;
  };
  struct Node {
    bool directory = false;
    // Files.
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> durable;
    std::vector<Change> unsynced;
    // Directories (a null node: the name is removed).
    std::map<std::string, NodePtr> entries;
    std::map<std::string, NodePtr> durable_entries;
  };
  // Edits of one directory that a crash keeps or loses together.
  struct DirectoryChange {
    NodePtr dir;
    std::vector<std::pair<std::string, NodePtr>> edits;
  };
  class Handle;
  class Lock;
  friend class Handle;
  friend class Lock;

  static std::filesystem::path normal(const std::filesystem::path& path);
  // The errno of a fault set for (op, path), taking one of its times; 0 if none.
  int fault(DiskOp op, const std::filesystem::path& path);
  Result<NodePtr> find(const std::filesystem::path& path) const;
  // The directory that holds `path` and the name in it.
  Result<std::pair<NodePtr, std::string>> parent_of(const std::filesystem::path& path) const;
  void change_directory(const NodePtr& dir, std::vector<std::pair<std::string, NodePtr>> edits);
  void sync_entries(Node& dir);
  void sync_everything();
  // Bytes the files may still grow by before the disk is full.
  std::uint64_t room() const;
  // The data of a file after a crash: durable, plus what the crash keeps of the rest.
  void crash_file(Node& file);
  static void apply(std::vector<std::uint8_t>& data, const Change& change);
  bool chance(unsigned percent);

  SimDiskOptions options_;
  std::mt19937_64 random_;
  NodePtr root_;
  std::vector<DirectoryChange> pending_;  // directory changes not synced, oldest first
  std::vector<Fault> faults_;
  std::set<const Node*> locked_;
  std::uint64_t epoch_ = 0;  // crashes so far: a handle from an older epoch is dead
  SimDiskStats stats_;
};

}  // namespace peermq::sim
