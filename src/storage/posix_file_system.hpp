// PosixFileSystem: the FileSystem of the real disk, straight POSIX calls (no libuv):
// pread/pwrite, ftruncate, fstat, fdatasync, syncfs, fsync of directories, mkdir,
// readdir, renameat, unlinkat and flock(2) for locks.
//
// Every call blocks on the disk for as long as the kernel takes: run it where blocking
// is allowed. Descriptors are opened O_CLOEXEC, so a child process inherits none (and
// no lock). Errors are the errno of the failed call, in std::system_category().
//
// Threads: stateless, so any thread may use it. A File's sync() and sync_file_system()
// may run on another thread while its owner reads, writes, truncates or sizes it (one
// descriptor; the kernel orders them). Locks are flock(2) locks: held per open file, so
// a second lock() of the same path fails with EWOULDBLOCK even within one process.
#pragma once

#include "storage/file_system.hpp"

namespace peermq::storage {

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> open(const std::filesystem::path& path, OpenMode mode) override;
  Result<void> make_directories(const std::filesystem::path& dir) override;
  Result<std::vector<std::string>> list(const std::filesystem::path& dir) override;
  Result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Result<void> remove(const std::filesystem::path& path) override;
  Result<void> sync_directory(const std::filesystem::path& dir) override;
  Result<std::unique_ptr<FileLock>> lock(const std::filesystem::path& path) override;
};

// The process's one PosixFileSystem: what a log opens on unless told otherwise.
PosixFileSystem& posix_file_system() noexcept;

}  // namespace peermq::storage
