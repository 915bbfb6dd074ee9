#include "storage/posix_file_system.hpp"

#include <cerrno>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace peermq::storage {
namespace fs = std::filesystem;
namespace {

std::error_code errno_code(int err) noexcept {
  return {err, std::system_category()};
}

std::error_code last_errno() noexcept {
  return errno_code(errno);
}

// Owns a descriptor; closes it on destruction.
class Descriptor {
 public:
  explicit Descriptor(int fd) noexcept : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

class PosixFile final : public File {
 public:
  explicit PosixFile(int fd) noexcept : fd_(fd) {}

  Result<std::size_t> read(std::uint64_t offset, std::span<std::uint8_t> into) override {
    std::size_t done = 0;
    while (done < into.size()) {
      const ssize_t n = ::pread(fd_.get(), into.data() + done, into.size() - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return last_errno();
      if (n == 0) break;  // the end of the file
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  Result<void> write(std::uint64_t offset, std::span<const std::uint8_t> bytes) override {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pwrite(fd_.get(), bytes.data() + done, bytes.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return last_errno();
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  Result<void> truncate(std::uint64_t size) override {
    while (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return last_errno();
    }
    return {};
  }

  Result<std::uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return last_errno();
    return static_cast<std::uint64_t>(st.st_size);
  }

  Result<void> sync() override {
    if (::fdatasync(fd_.get()) != 0) return last_errno();
    return {};
  }

  Result<void> sync_file_system() override {
    if (::syncfs(fd_.get()) != 0) return last_errno();
    return {};
  }

 private:
  Descriptor fd_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) noexcept : fd_(fd) {}

 private:
  Descriptor fd_;  // closing it releases the flock
};

Result<void> sync_directory_at(const char* dir) {
  Descriptor fd(::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return last_errno();
  if (::fsync(fd.get()) != 0) return last_errno();
  return {};
}

}  // namespace

Result<std::unique_ptr<File>> PosixFileSystem::open(const fs::path& path, OpenMode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case OpenMode::read: flags |= O_RDONLY; break;
    case OpenMode::read_write: flags |= O_RDWR; break;
    case OpenMode::create: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return last_errno();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return errno_code(err);
  }
  return std::unique_ptr<File>(std::make_unique<PosixFile>(fd));
}

Result<void> PosixFileSystem::make_directories(const fs::path& dir) {
  fs::path prefix;
  for (const fs::path& part : dir) {
    if (part.empty() || part == ".") continue;  // a trailing '/', or "./"
    const fs::path parent = prefix.empty() ? fs::path(".") : prefix;
    prefix /= part;
    if (!prefix.has_relative_path()) continue;  // the root itself
    struct stat st {};
    if (::stat(prefix.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return errno_code(ENOTDIR);
      continue;
    }
    if (errno != ENOENT) return last_errno();
    if (::mkdir(prefix.c_str(), 0777) != 0) {
      if (errno != EEXIST) return last_errno();
      if (::stat(prefix.c_str(), &st) != 0) return last_errno();  // made by someone else
      if (!S_ISDIR(st.st_mode)) return errno_code(ENOTDIR);
      continue;
    }
    // The new entry lives in the parent: make it durable, or a crash could take the
    // directory away with everything synced inside it.
    if (auto r = sync_directory_at(parent.c_str()); !r) return r;
  }
  return {};
}

Result<std::vector<std::string>> PosixFileSystem::list(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return last_errno();
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(d);
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return errno_code(err);
  return names;
}

Result<void> PosixFileSystem::rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return last_errno();
  return {};
}

Result<void> PosixFileSystem::remove(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) return last_errno();
  return {};
}

Result<void> PosixFileSystem::sync_directory(const fs::path& dir) {
  return sync_directory_at(dir.c_str());
}

Result<std::unique_ptr<FileLock>> PosixFileSystem::lock(const fs::path& path) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return last_errno();
  auto held = std::make_unique<PosixLock>(fd);
  int rc = 0;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return last_errno();  // EWOULDBLOCK: another holds it
  return std::unique_ptr<FileLock>(std::move(held));
}

PosixFileSystem& posix_file_system() noexcept {
  static PosixFileSystem instance;
  return instance;
}

}  // namespace peermq::storage
