#include <peermq/identity.hpp>

#include <doctest/doctest.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using peermq::Identity;
using peermq::KeyFileError;

namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string name = "/tmp/peermq-key-file-test-XXXXXX";
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

const std::string kRfcSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const std::string kRfcAddress = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenhqtdm";

}  // namespace

TEST_CASE("a created key file is exactly 0600, in a 0700 directory, and names the address") {
  TempDir dir;
  const std::string path = dir.file("a/b/node.key");
  const auto identity = Identity::generate();
  std::string detail;
  REQUIRE(peermq::create_key_file(path, identity, &detail).ok());
  CHECK(detail.empty());
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(dir.file("a")) == 0700);
  CHECK(mode_of(dir.file("a/b")) == 0700);
  const std::string text = read_text(path);
  CHECK(text.rfind("# peermq identity key. Keep it secret", 0) == 0);
  CHECK(text.find("# address: " + identity.address().to_string() + "\n") != std::string::npos);
  CHECK(text.find("\nseed: ") != std::string::npos);
  // Only the key file is left: the temporary file was removed.
  CHECK(std::distance(fs::directory_iterator(dir.file("a/b")), fs::directory_iterator()) == 1);
}

TEST_CASE("a key file is created 0600 even under a permissive umask") {
  TempDir dir;
  const mode_t old = ::umask(0);
  const auto made = peermq::create_key_file(dir.file("k"), Identity::generate());
  ::umask(old);
  REQUIRE(made.ok());
  CHECK(mode_of(dir.file("k")) == 0600);
}

TEST_CASE("loading a key file twice gives the same address as the identity written") {
  TempDir dir;
  const std::string path = dir.file("node.key");
  const auto identity = Identity::generate();
  REQUIRE(peermq::create_key_file(path, identity).ok());
  auto first = peermq::load_key_file(path);
  auto second = peermq::load_key_file(path);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->address() == identity.address());
  CHECK(second->address() == identity.address());
  CHECK(first->x25519_public() == identity.x25519_public());
}

TEST_CASE("load_or_create creates the key file once, then reuses it") {
  TempDir dir;
  const std::string path = dir.file("sub/node.key");
  bool created = false;
  auto made = peermq::load_or_create_key_file(path, &created);
  REQUIRE(made.ok());
  CHECK(created);
  CHECK(mode_of(path) == 0600);
  const std::string text = read_text(path);
  auto again = peermq::load_or_create_key_file(path, &created);
  REQUIRE(again.ok());
  CHECK_FALSE(created);
  CHECK(again->address() == made->address());
  CHECK(read_text(path) == text);
}

TEST_CASE("a hand-written key file with upper case hex, CRLF and comments loads") {
  TempDir dir;
  std::string upper = kRfcSeedHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  write_text(dir.file("k"), "\r\n# my broker\r\n\r\n  seed:   " + upper + "  \r\n# end\r\n");
  auto loaded = peermq::load_key_file(dir.file("k"));
  REQUIRE(loaded.ok());
  CHECK(loaded->address().to_string() == kRfcAddress);
}

TEST_CASE("a key file open to group or others is refused with the chmod that fixes it") {
  TempDir dir;
  const std::string path = dir.file("node.key");
  REQUIRE(peermq::create_key_file(path, Identity::generate()).ok());
  for (const mode_t mode : {0644u, 0640u, 0604u, 0660u, 0601u, 0610u}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    char mode_text[8];
    std::snprintf(mode_text, sizeof mode_text, "%04o", static_cast<unsigned>(mode));
    CAPTURE(mode_text);
    std::string detail;
    bool created = true;
    auto loaded = peermq::load_or_create_key_file(path, &created, &detail);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error() == KeyFileError::too_open);
    CHECK_FALSE(created);
    CHECK(detail == "key file " + path + " is accessible by group or others (mode " + mode_text +
                        "); run: chmod 600 " + path);
  }
  REQUIRE(::chmod(path.c_str(), 0400) == 0);  // owner-only read is fine
  CHECK(peermq::load_key_file(path).ok());
}

TEST_CASE("the suggested chmod quotes a path with spaces") {
  TempDir dir;
  const std::string path = dir.file("my node.key");
  REQUIRE(peermq::create_key_file(path, Identity::generate()).ok());
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  std::string detail;
  CHECK(peermq::load_key_file(path, &detail).error() == KeyFileError::too_open);
  CHECK(detail.find("run: chmod 600 '" + path + "'") != std::string::npos);
}

TEST_CASE("a missing key file is reported as not found, with how to create it") {
  TempDir dir;
  const std::string path = dir.file("absent.key");
  std::string detail;
  auto loaded = peermq::load_key_file(path, &detail);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.error() == KeyFileError::not_found);
  CHECK(detail.find(path) != std::string::npos);
  CHECK(detail.find("peermq keygen -key=" + path) != std::string::npos);
  CHECK_FALSE(fs::exists(path));  // loading never creates
}

TEST_CASE("a malformed key file is refused and the message says which line is wrong") {
  struct Case {
    const char* name;
    std::string text;
    const char* why;
  };
  const Case cases[] = {
      {"empty", "", "no 'seed:' line"},
      {"comments only", "# address: x\n", "no 'seed:' line"},
      {"bad hex", "seed: " + std::string(63, 'a') + "z\n", "line 1: the seed must be"},
      {"short seed", "seed: " + kRfcSeedHex.substr(2) + "\n", "line 1: the seed must be"},
      {"long seed", "seed: " + kRfcSeedHex + "00\n", "line 1: the seed must be"},
      {"empty seed", "#\nseed:\n", "line 2: the seed must be"},
      {"spaced hex", "seed: " + kRfcSeedHex.substr(0, 32) + " " + kRfcSeedHex.substr(32) + "\n",
       "line 1: the seed must be"},
      {"two seeds", "seed: " + kRfcSeedHex + "\nseed: " + kRfcSeedHex + "\n",
       "line 2: a second 'seed:' line"},
      {"unknown line", "# c\nkey: " + kRfcSeedHex + "\n", "line 2: expected a '#' comment"},
      {"binary", std::string("\0\x01\x02", 3), "line 1: expected"},
      {"too large", "seed: " + kRfcSeedHex + "\n" + std::string(5000, '#'), "larger than 4096"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string path = dir.file("bad.key");
    write_text(path, c.text);
    std::string detail;
    auto loaded = peermq::load_key_file(path, &detail);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error() == KeyFileError::malformed);
    CHECK(detail.find("key file " + path + " is not a peermq key file (") == 0);
    CHECK(detail.find(c.why) != std::string::npos);
    // A malformed file is never replaced by a new identity.
    bool created = true;
    CHECK(peermq::load_or_create_key_file(path, &created).error() == KeyFileError::malformed);
    CHECK_FALSE(created);
    CHECK(read_text(path) == c.text);
  }
}

TEST_CASE("a directory or a FIFO at the key path is unreadable, not a hang") {
  TempDir dir;
  fs::create_directory(dir.file("d"));
  REQUIRE(::chmod(dir.file("d").c_str(), 0700) == 0);
  std::string detail;
  CHECK(peermq::load_key_file(dir.file("d"), &detail).error() == KeyFileError::unreadable);
  CHECK(detail.find("not a regular file") != std::string::npos);
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  CHECK(peermq::load_key_file(dir.file("fifo")).error() == KeyFileError::unreadable);
}

TEST_CASE("creating never overwrites an existing key file") {
  TempDir dir;
  const std::string path = dir.file("node.key");
  const auto first = Identity::generate();
  REQUIRE(peermq::create_key_file(path, first).ok());
  const std::string text = read_text(path);
  std::string detail;
  auto again = peermq::create_key_file(path, Identity::generate(), &detail);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error() == KeyFileError::already_exists);
  CHECK(detail.find("never overwrites") != std::string::npos);
  CHECK(read_text(path) == text);
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("a key file that cannot be created is reported with the reason") {
  TempDir dir;
  write_text(dir.file("plain"), "not a directory");
  const std::string path = dir.file("plain/node.key");
  std::string detail;
  bool created = true;
  auto made = peermq::load_or_create_key_file(path, &created, &detail);
  REQUIRE_FALSE(made.ok());
  CHECK_FALSE(created);
  // Opening "plain/node.key" fails with ENOTDIR, not ENOENT: it is unreadable, and
  // creating is not attempted over it.
  CHECK(made.error() == KeyFileError::unreadable);

  auto direct = peermq::create_key_file(path, Identity::generate(), &detail);
  REQUIRE_FALSE(direct.ok());
  CHECK(direct.error() == KeyFileError::create_failed);
  CHECK(detail.find("cannot create key file " + path) == 0);
  CHECK(detail.find("Not a directory") != std::string::npos);
}

TEST_CASE("key file errors have distinct messages in the peermq.key_file category") {
  std::set<std::string> messages;
  for (int v = static_cast<int>(KeyFileError::not_found);
       v <= static_cast<int>(KeyFileError::already_exists); ++v) {
    const std::error_code ec = static_cast<KeyFileError>(v);
    CHECK(std::string(ec.category().name()) == "peermq.key_file");
    CHECK(ec.message() != "unknown key file error");
    messages.insert(ec.message());
  }
  CHECK(messages.size() == static_cast<std::size_t>(KeyFileError::already_exists));
}
