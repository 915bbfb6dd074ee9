#include "platform/local_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "log/log.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {

const char* describe(LocalDirectoryError e) {
  switch (e) {
    case LocalDirectoryError::not_found:
      return "no node with this address runs on this host: start it first, or reach it "
             "through a relay with -relay=HOST:PORT";
    case LocalDirectoryError::unsafe:
      return "the local discovery directory belongs to another user or is writable by others: "
             "remove it, or set PEERMQ_RUNTIME_DIR to a directory only you can write";
    case LocalDirectoryError::io:
      return "the local discovery directory or a file in it could not be used";
    case LocalDirectoryError::invalid_record:
      return "the node's announcement file is stale or invalid: is that node still running?";
  }
  return "unknown local directory error";
}

namespace fs = std::filesystem;

namespace {

void set_detail(std::string* detail, std::string text) {
  if (detail != nullptr) *detail = std::move(text);
}

std::string errno_text(const char* what, const fs::path& p) {
  return std::string(what) + " " + p.string() + ": " + std::strerror(errno);
}

}  // namespace

fs::path LocalDirectory::default_path() {
  if (const char* d = std::getenv("PEERMQ_RUNTIME_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    return fs::path(x) / "peermq";
  }
  return fs::path("/tmp") / ("peermq-" + std::to_string(getuid()));
}

Result<LocalDirectory> LocalDirectory::open(const fs::path& dir, std::string* detail) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    set_detail(detail, errno_text("cannot create", dir));
    return LocalDirectoryError::io;
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    set_detail(detail, errno_text("cannot stat", dir));
    return LocalDirectoryError::io;
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022) != 0) {
    set_detail(detail, dir.string() + " must be a directory of uid " + std::to_string(getuid()) +
                           " that only its owner can write (mode 0700)");
    return LocalDirectoryError::unsafe;
  }
  return LocalDirectory(dir);
}

fs::path LocalDirectory::file_of(const PublicKey& key) const {
  return dir_ / overlay::local_announcement_file_name(Address(key));
}

Result<void> LocalDirectory::announce(const Identity& me, const overlay::Candidates& endpoints,
                                      WallTime now, std::string* detail) const {
  const auto record = overlay::encode_local_announcement(me, endpoints, now);
  const fs::path final_path = file_of(me.public_key());
  fs::path tmp = final_path;
  tmp += ".tmp" + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    set_detail(detail, errno_text("cannot create", tmp));
    return LocalDirectoryError::io;
  }
  const ssize_t n = ::write(fd, record.data(), record.size());
  const bool written = n == static_cast<ssize_t>(record.size());
  if (::close(fd) != 0 || !written || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    set_detail(detail, errno_text("cannot write", final_path));
    ::unlink(tmp.c_str());
    return LocalDirectoryError::io;
  }
  return {};
}

void LocalDirectory::withdraw(const PublicKey& me) const noexcept {
  std::error_code ignored;
  fs::remove(file_of(me), ignored);
}

Result<overlay::LocalAnnouncement> LocalDirectory::lookup(const PublicKey& peer, WallTime now,
                                                          std::string* detail) const {
  const fs::path p = file_of(peer);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return LocalDirectoryError::not_found;
    set_detail(detail, errno_text("cannot open", p));
    return LocalDirectoryError::io;
  }
  // One byte more than a record may hold, so an oversized file is seen as such.
  std::vector<std::uint8_t> buf(limits::kLocalAnnouncementMax + 1);
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  ::close(fd);
  if (n < 0) {
    set_detail(detail, errno_text("cannot read", p));
    return LocalDirectoryError::io;
  }
  buf.resize(static_cast<std::size_t>(n));
  auto record = overlay::decode_local_announcement(buf, peer, now);
  if (!record) {
    set_detail(detail, p.string() + ": " + record.error().message());
    return LocalDirectoryError::invalid_record;
  }
  return record;
}

}  // namespace peermq::platform
