#include "platform/local_directory.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <ostream>  // doctest prints std::error_code through it
#include <string>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using peermq::Identity;
using peermq::platform::LocalDirectory;
using peermq::platform::LocalDirectoryError;
using peermq::Endpoint;
namespace fs = std::filesystem;

namespace {

// A scratch directory removed at the end of the test, also when it fails.
struct Scratch {
  fs::path root = fs::temp_directory_path() /
                  ("peermq-localdir-test-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  Scratch() { fs::create_directories(root); }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
};

}  // namespace

TEST_CASE("a node's announcement is found by its address and gone once withdrawn") {
  Scratch s;
  const fs::path dir = s.root / "peermq";
  auto d = LocalDirectory::open(dir);
  REQUIRE(d);
  struct stat st {};
  REQUIRE(stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  const Identity me = Identity::generate();
  const auto now = std::chrono::system_clock::now();
  const auto endpoint = Endpoint::v4({127, 0, 0, 1}, 4242);
  REQUIRE(d->announce(me, {endpoint}, now));
  auto found = d->lookup(me.public_key(), now + 1s);
  REQUIRE(found);
  REQUIRE(found->endpoints.size() == 1);
  CHECK(found->endpoints[0] == endpoint);
  CHECK(found->key == me.public_key());

  d->withdraw(me.public_key());
  CHECK(d->lookup(me.public_key(), now).error() == LocalDirectoryError::not_found);
}

TEST_CASE("an unknown address is not_found, and a stale record is refused") {
  Scratch s;
  auto d = LocalDirectory::open(s.root / "peermq");
  REQUIRE(d);
  const Identity me = Identity::generate();
  CHECK(d->lookup(me.public_key(), std::chrono::system_clock::now()).error() ==
        LocalDirectoryError::not_found);
  const auto then = std::chrono::system_clock::now() - 1h;
  REQUIRE(d->announce(me, {Endpoint::v4({127, 0, 0, 1}, 1)}, then));
  std::string detail;
  CHECK(d->lookup(me.public_key(), std::chrono::system_clock::now(), &detail).error() ==
        LocalDirectoryError::invalid_record);
  CHECK_FALSE(detail.empty());
}

TEST_CASE("a discovery directory others may write to is refused") {
  Scratch s;
  const fs::path dir = s.root / "open";
  fs::create_directories(dir);
  REQUIRE(chmod(dir.c_str(), 0777) == 0);
  std::string detail;
  CHECK(LocalDirectory::open(dir, &detail).error() == LocalDirectoryError::unsafe);
  CHECK(detail.find("0700") != std::string::npos);
}

TEST_CASE("the default discovery directory follows PEERMQ_RUNTIME_DIR") {
  const char* old = std::getenv("PEERMQ_RUNTIME_DIR");
  const std::string saved = old != nullptr ? old : "";
  setenv("PEERMQ_RUNTIME_DIR", "/tmp/somewhere", 1);
  CHECK(LocalDirectory::default_path() == fs::path("/tmp/somewhere"));
  if (old != nullptr) {
    setenv("PEERMQ_RUNTIME_DIR", saved.c_str(), 1);
  } else {
    unsetenv("PEERMQ_RUNTIME_DIR");
  }
}
