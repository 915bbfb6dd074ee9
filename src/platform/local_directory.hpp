// LocalDirectory: the files through which nodes of one user on one host find each other
// with no relay and no server (the record format and its checks are
// overlay/local_announcement.hpp).
//
//   $PEERMQ_RUNTIME_DIR, else $XDG_RUNTIME_DIR/peermq, else /tmp/peermq-<uid>
//
// The directory is created with mode 0700 and refused when another user owns it or when
// group or others may write to it: a planted file could not redirect a dial anyway (the
// record is signed and the session authenticates the peer), but it could make one fail.
// announce() writes "<address>.peer" through a temporary file and rename(2), so a reader
// never sees half a record; withdraw() removes it on a clean exit. A crashed node's file
// stays until its record expires (limits::kLocalAnnouncementLifetime).
//
// Synchronous file I/O: records are a few hundred bytes, written every few seconds.
#pragma once

#include <filesystem>
#include <string>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/local_announcement.hpp"

namespace peermq::platform {

enum class LocalDirectoryError {
  not_found = 1,   // no node with that address has announced itself on this host
  unsafe,          // the directory belongs to someone else, or others may write to it
  io,              // the directory or a file could not be created, written or read
  invalid_record,  // the file is there but its record does not check out (see log)
};
const char* describe(LocalDirectoryError e);
inline const char* category_name(LocalDirectoryError) {
  return "peermq.platform.local_directory";
}
PEERMQ_ERROR_ENUM(LocalDirectoryError)

class LocalDirectory {
 public:
  // Where announcements live for this user (see above). Never fails.
  static std::filesystem::path default_path();
  // Creates `dir` (mode 0700) if needed and checks it. `detail` gets the OS's words.
  static Result<LocalDirectory> open(const std::filesystem::path& dir,
                                     std::string* detail = nullptr);

  Result<void> announce(const Identity& me, const overlay::Candidates& endpoints, WallTime now,
                        std::string* detail = nullptr) const;
  void withdraw(const PublicKey& me) const noexcept;
  Result<overlay::LocalAnnouncement> lookup(const PublicKey& peer, WallTime now,
                                            std::string* detail = nullptr) const;

  const std::filesystem::path& path() const noexcept { return dir_; }

 private:
  explicit LocalDirectory(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path file_of(const PublicKey& key) const;
  std::filesystem::path dir_;
};

}  // namespace peermq::platform

PEERMQ_ERROR_ENUM_STD(peermq::platform::LocalDirectoryError)
