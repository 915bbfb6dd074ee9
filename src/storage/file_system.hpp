// FileSystem and File: every file operation of the storage layer, behind one interface,
// so that the segment log runs unchanged on the real disk (PosixFileSystem) and on a
// simulated one that loses what was never made durable when it "crashes"
// (tests/sim/sim_disk.hpp).
//
// The durability contract, which every implementation keeps and the log relies on:
//   - File::write() is seen at once by reads, through any handle; it survives a crash
//     (power cut, kernel panic) only once a File::sync() of that file has completed. A
//     crash may keep any of the unsynced writes, none of them, or a prefix of one.
//   - A new name (open(create), the target of rename()) and a removed one survive a crash
//     only once sync_directory() of the directory holding them has completed.
//   - A failed sync() tells nothing about what is on disk, and a later sync() that succeeds
//     does not cover what the failed one should have: the kernel may drop the pages it
//     could not write and clear the error (PostgreSQL's "fsyncgate", 2018). Never retry a
//     failed sync as if the data were written.
//   - File::sync_file_system() (syncfs(2)) makes every file and directory entry of the
//     file system holding the file durable: what covers files already closed unsynced.
//
// Errors: a std::error_code in std::system_category() holding the errno of the failed
// call (ENOENT, EACCES, ENOSPC, EIO, EWOULDBLOCK, ...), so that callers map it with their
// own table (storage::log_error_from_errno). No call retries anything but EINTR.
//
// Ownership: open() and lock() return owned handles; destroying one closes it without
// syncing (what it wrote stays readable, and durable only if it was synced). The
// FileSystem must outlive every handle it returned.
//
// Threads: a FileSystem and its handles are used by one thread at a time, with one
// exception, for the broker's fdatasync on libuv's thread pool: File::sync() and
// File::sync_file_system() may run on another thread while the owner goes on calling
// read(), write(), truncate() and size() on the same handle. Such a handle is shared
// through a std::shared_ptr, so that whichever side lets go last closes it. An
// implementation that cannot allow this says so (the simulated disk is single-threaded:
// its users run syncs inline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <peermq/result.hpp>

namespace peermq::storage {

enum class OpenMode {
  read,        // the file must exist; writes fail with EBADF
  read_write,  // the file must exist
  create,      // read and write; created if missing (mode 0644), emptied if not
};

// An open file. Offsets are absolute: there is no file position.
class File {
 public:
  virtual ~File() = default;
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads up to into.size() bytes at `offset`; fewer only where the file ends.
  virtual Result<std::size_t> read(std::uint64_t offset, std::span<std::uint8_t> into) = 0;
  // Writes all of `bytes` at `offset`, growing the file (a gap before `offset` reads as
  // zeros). On an error a prefix of `bytes` may be in the file: truncate() takes it back.
  virtual Result<void> write(std::uint64_t offset, std::span<const std::uint8_t> bytes) = 0;
  // Cuts the file to `size` bytes (or grows it with zeros).
  virtual Result<void> truncate(std::uint64_t size) = 0;
  virtual Result<std::uint64_t> size() = 0;
  // fdatasync(2): once it returns, every completed write() and truncate() of this file
  // survives a crash. May run on another thread (see the top of this file).
  virtual Result<void> sync() = 0;
  // syncfs(2): sync() of every file and directory of this file's file system. May run on
  // another thread (see the top of this file).
  virtual Result<void> sync_file_system() = 0;
};

// Released when destroyed (and by the end of the process holding it).
class FileLock {
 public:
  virtual ~FileLock() = default;
  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  FileSystem() = default;
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // EISDIR for a directory; ENOENT for a missing file unless `mode` creates it.
  virtual Result<std::unique_ptr<File>> open(const std::filesystem::path& path,
                                             OpenMode mode) = 0;
  // Creates `dir` and whatever parents it lacks, each made durable (its parent synced);
  // success if it exists already. ENOTDIR if it, or a part of its path, is not a directory.
  virtual Result<void> make_directories(const std::filesystem::path& dir) = 0;
  // The names in `dir` (files and directories, without "." and ".."), in no set order.
  virtual Result<std::vector<std::string>> list(const std::filesystem::path& dir) = 0;
  // Renames the file `from` to `to`, replacing a file there. Durable once the directories
  // involved are synced.
  virtual Result<void> rename(const std::filesystem::path& from,
                              const std::filesystem::path& to) = 0;
  // Removes the file `path` (ENOENT if there is none). Durable once its directory is synced.
  virtual Result<void> remove(const std::filesystem::path& path) = 0;
  // fsync(2) of the directory: makes its entries as they are now durable.
  virtual Result<void> sync_directory(const std::filesystem::path& dir) = 0;
  // Creates `path` if missing (not emptying it) and takes an exclusive lock on it, held
  // by this process until the FileLock is destroyed: how a log locks its directory.
  // EWOULDBLOCK while another process (or handle) holds it.
  virtual Result<std::unique_ptr<FileLock>> lock(const std::filesystem::path& path) = 0;
};

}  // namespace peermq::storage
