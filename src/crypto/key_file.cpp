// Key files: reading and creating the file that holds a node's identity seed.
//
// Every buffer that held the seed or its hex form is wiped before it is released.
#include <array>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <peermq/identity.hpp>

namespace peermq {
namespace {

// A key file is three short lines; anything much larger is not one.
constexpr std::size_t kMaxKeyFileSize = 4096;
constexpr std::string_view kSeedField = "seed:";

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  bool ok() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes now, so that a failing close (the last write-back error) can be reported.
  bool close() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// A text buffer that may hold the seed; wiped on destruction.
struct WipedText {
  std::array<char, kMaxKeyFileSize + 1> bytes{};
  std::size_t size = 0;
  ~WipedText() { sodium_memzero(bytes.data(), bytes.size()); }
  std::string_view view() const noexcept { return {bytes.data(), size}; }
};

std::string errno_text(int err) {
  return std::error_code(err, std::system_category()).message();
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// The path as a shell word, so that a suggested command can be pasted as is.
std::string shell_word(const std::string& path) {
  const bool plain = !path.empty() && path.find_first_not_of(
                                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789/._-+=:,@%") == std::string::npos;
  if (plain) return path;
  std::string quoted = "'";
  for (char c : path) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::error_code fail(KeyFileError error, std::string message, std::string* detail) {
  if (detail != nullptr) *detail = std::move(message);
  return error;
}

std::error_code fail_malformed(const std::string& path, const std::string& why,
                               std::string* detail) {
  return fail(KeyFileError::malformed,
              "key file " + path + " is not a peermq key file (" + why +
                  "); restore it from a backup, or move it away and run 'peermq keygen' to "
                  "make a new identity (the node's address will change)",
              detail);
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// Reads the seed out of the file's text. On failure `why` says what is wrong, by line.
bool parse_key_text(std::string_view text, Secret<kSeedSize>& seed, std::string& why) {
  bool have_seed = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (!line.starts_with(kSeedField)) {
      why = where + "expected a '#' comment or 'seed: <64 hex digits>'";
      return false;
    }
    if (have_seed) {
      why = where + "a second 'seed:' line";
      return false;
    }
    const std::string_view hex = trim(line.substr(kSeedField.size()));
    std::size_t decoded = 0;
    const char* hex_end = nullptr;
    if (hex.size() != 2 * kSeedSize ||
        sodium_hex2bin(seed.data(), seed.size(), hex.data(), hex.size(), nullptr, &decoded,
                       &hex_end) != 0 ||
        decoded != kSeedSize || hex_end != hex.data() + hex.size()) {
      why = where + "the seed must be exactly 64 hex digits";
      return false;
    }
    have_seed = true;
  }
  if (!have_seed) why = "no 'seed:' line";
  return have_seed;
}

// Reads at most kMaxKeyFileSize + 1 bytes, enough to tell that a file is too large.
bool read_all(int fd, WipedText& text) {
  while (text.size < text.bytes.size()) {
    const ssize_t n = ::read(fd, text.bytes.data() + text.size, text.bytes.size() - text.size);
    if (n == 0) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    text.size += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// mkdir -p with mode 0700 for the directories it makes. Returns 0 or an errno.
int make_parent_dirs(const std::string& path) {
  for (auto slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

int fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok() || ::fsync(fd.get()) != 0) return errno;
  return 0;
}

void format_key_text(const Identity& identity, WipedText& text) {
  const auto seed = identity.seed();
  std::array<char, 2 * kSeedSize + 1> hex;
  sodium_bin2hex(hex.data(), hex.size(), seed.data(), seed.size());
  const int n =
      std::snprintf(text.bytes.data(), text.bytes.size(),
                    "# peermq identity key. Keep it secret: whoever has this file is this node.\n"
                    "# address: %s\n"
                    "seed: %s\n",
                    identity.address().to_string().c_str(), hex.data());
  sodium_memzero(hex.data(), hex.size());
  text.size = static_cast<std::size_t>(n);
}

// Writes the key to a fresh 0600 temporary file next to `path` and syncs it. Returns
// 0 or an errno; on failure no temporary file is left behind.
int write_temp_file(const std::string& path, const Identity& identity, std::string& temp) {
  temp = path + ".tmp-XXXXXX";
  // mkostemp creates the file with O_EXCL and mode 0600: the seed is never readable by others.
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.ok()) return errno;
  WipedText text;
  format_key_text(identity, text);
  // fchmod: in case a umask or an odd libc left it anything but exactly 0600.
  if (::fchmod(fd.get(), 0600) != 0 || !write_all(fd.get(), text.view()) ||
      ::fsync(fd.get()) != 0 || !fd.close()) {
    const int err = errno;
    ::unlink(temp.c_str());
    return err;
  }
  return 0;
}

std::error_code fail_unreadable(const std::string& path, const char* what, int err,
                                std::string* detail) {
  return fail(KeyFileError::unreadable,
              std::string("cannot ") + what + " key file " + path + ": " + errno_text(err) +
                  "; check that it is a file this user may read",
              detail);
}

// Opens `path` for reading, and checks on the open file (not the name, so the answer is
// about the bytes that will be read) that it is a regular file only its owner may access.
// Returns the descriptor, which the caller closes.
Result<int> open_private_file(const std::string& path, std::string* detail) {
  // O_NONBLOCK: opening a FIFO planted at the path must not hang start-up.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.ok() && errno == ENOENT)
    return fail(KeyFileError::not_found,
                "key file " + path +
                    " does not exist; create it with: peermq keygen -key=" + shell_word(path),
                detail);
  if (!fd.ok()) return fail_unreadable(path, "open", errno, detail);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_unreadable(path, "stat", errno, detail);
  if (!S_ISREG(st.st_mode))
    return fail(KeyFileError::unreadable,
                "key file " + path + " is not a regular file; pass the path of the key file",
                detail);
  if ((st.st_mode & 077) != 0)
    return fail(KeyFileError::too_open,
                "key file " + path + " is accessible by group or others (mode " +
                    mode_text(st.st_mode) + "); run: chmod 600 " + shell_word(path),
                detail);
  return fd.release();
}

}  // namespace

const char* describe(KeyFileError e) {
  switch (e) {
    case KeyFileError::not_found:
      return "key file not found: create one with 'peermq keygen -key=FILE'";
    case KeyFileError::unreadable:
      return "key file cannot be read: check that it is a regular file its user may read";
    case KeyFileError::too_open:
      return "key file is accessible by group or others: run chmod 600 on it";
    case KeyFileError::malformed:
      return "key file is not a peermq key file: restore it from a backup or create a new one";
    case KeyFileError::create_failed:
      return "key file could not be created: check that its directory is writable";
    case KeyFileError::already_exists:
      return "key file already exists: load it, or choose another path for a new identity";
  }
  return "unknown key file error";
}

Result<Identity> load_key_file(const std::string& path, std::string* detail) {
  const auto opened = open_private_file(path, detail);
  if (!opened.ok()) return opened.error();
  const Fd fd(*opened);

  WipedText text;
  if (!read_all(fd.get(), text)) return fail_unreadable(path, "read", errno, detail);
  if (text.size > kMaxKeyFileSize)
    return fail_malformed(path, "larger than " + std::to_string(kMaxKeyFileSize) + " bytes",
                          detail);
  Secret<kSeedSize> seed;
  std::string why;
  if (!parse_key_text(text.view(), seed, why)) return fail_malformed(path, why, detail);
  return Identity::from_seed(seed);
}

Result<void> create_key_file(const std::string& path, const Identity& identity,
                             std::string* detail) {
  const auto create_failed = [&](const std::string& what, int err) {
    return fail(KeyFileError::create_failed,
                "cannot create key file " + path + " (" + what + ": " + errno_text(err) +
                    "); check that the directory exists and is writable, or pass another -key",
                detail);
  };
  if (const int err = make_parent_dirs(path); err != 0)
    return create_failed("making its directory", err);
  std::string temp;
  if (const int err = write_temp_file(path, identity, temp); err != 0)
    return create_failed("writing " + temp, err);
  // link, unlike rename, never replaces a file that appeared meanwhile: a key file, once
  // written, is never overwritten by peermq.
  const int link_err = ::link(temp.c_str(), path.c_str()) == 0 ? 0 : errno;
  ::unlink(temp.c_str());
  if (link_err == EEXIST)
    return fail(KeyFileError::already_exists,
                "key file " + path +
                    " already exists; peermq never overwrites a key file: "
                    "move it away first if you really want a new identity",
                detail);
  if (link_err != 0) return create_failed("moving it into place", link_err);
  if (const int err = fsync_dir(parent_of(path)); err != 0)
    return create_failed("syncing its directory", err);
  return {};
}

Result<Identity> load_or_create_key_file(const std::string& path, bool* created,
                                         std::string* detail) {
  if (created != nullptr) *created = false;
  auto loaded = load_key_file(path, detail);
  if (loaded.ok() || loaded.error() != KeyFileError::not_found) return loaded;

  auto identity = Identity::generate();
  const auto made = create_key_file(path, identity, detail);
  // Another process created it between our load and our link: use theirs.
  if (!made.ok() && made.error() == KeyFileError::already_exists)
    return load_key_file(path, detail);
  if (!made.ok()) return made.error();
  if (detail != nullptr) detail->clear();
  if (created != nullptr) *created = true;
  return identity;
}

}  // namespace peermq
