#include "storage/posix_file_system.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/child_process.hpp"

namespace fs = std::filesystem;
using peermq::storage::File;
using peermq::storage::OpenMode;
using peermq::storage::posix_file_system;
using peermq::test::TempDir;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::unique_ptr<File> open(const fs::path& path, OpenMode mode) {
  auto file = posix_file_system().open(path, mode);
  INFO(path.string() << ": " << file.error().message());
  REQUIRE(file.ok());
  return std::move(*file);
}

std::string read_all(File& file) {
  std::string text(static_cast<std::size_t>(*file.size()), '\0');
  auto n = file.read(0, {reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  REQUIRE(n.ok());
  CHECK(*n == text.size());
  return text;
}

int error_of(const std::error_code& ec) {
  CHECK(ec.category() == std::system_category());  // errno-shaped, whatever the call
  return ec.value();
}

}  // namespace

TEST_CASE("a posix file reads and writes at offsets, grows with zeros, truncates and syncs") {
  TempDir dir("peermq-posix-fs");
  auto file = open(dir.path() / "f", OpenMode::create);
  CHECK(*file->size() == 0);
  REQUIRE(file->write(0, bytes("hello")).ok());
  REQUIRE(file->write(7, bytes("world")).ok());  // past the end: a gap of zeros
  CHECK(read_all(*file) == std::string("hello\0\0world", 12));
  std::vector<std::uint8_t> into(10);
  auto n = file->read(8, into);  // fewer bytes where the file ends
  REQUIRE(n.ok());
  CHECK(*n == 4);
  CHECK(std::string(into.begin(), into.begin() + 4) == "orld");
  CHECK(*file->read(100, into) == 0);
  REQUIRE(file->truncate(5).ok());
  CHECK(read_all(*file) == "hello");
  CHECK(file->sync().ok());
  CHECK(file->sync_file_system().ok());
  CHECK(fs::file_size(dir.path() / "f") == 5);
}

TEST_CASE("posix open modes: read needs the file, read-only refuses writes, create empties") {
  TempDir dir("peermq-posix-fs");
  const fs::path path = dir.path() / "f";
  CHECK(error_of(posix_file_system().open(path, OpenMode::read).error()) == ENOENT);
  CHECK(error_of(posix_file_system().open(path, OpenMode::read_write).error()) == ENOENT);
  REQUIRE(open(path, OpenMode::create)->write(0, bytes("abc")).ok());
  auto reader = open(path, OpenMode::read);
  CHECK(read_all(*reader) == "abc");
  CHECK(error_of(reader->write(0, bytes("x")).error()) == EBADF);
  REQUIRE(open(path, OpenMode::read_write)->write(3, bytes("d")).ok());
  CHECK(read_all(*reader) == "abcd");  // another handle's write is seen at once
  CHECK(*open(path, OpenMode::create)->size() == 0);
  CHECK(error_of(posix_file_system().open(dir.path(), OpenMode::read).error()) == EISDIR);
}

TEST_CASE("posix make_directories creates every missing parent and refuses a file in the way") {
  TempDir dir("peermq-posix-fs");
  auto& files = posix_file_system();
  const fs::path deep = dir.path() / "a" / "b" / "c";
  REQUIRE(files.make_directories(deep).ok());
  CHECK(fs::is_directory(deep));
  CHECK(files.make_directories(deep).ok());  // there already: fine
  CHECK(files.make_directories(dir.path() / "a" / "b" / "c" / "").ok());
  std::ofstream(dir.path() / "file") << "x";
  CHECK(error_of(files.make_directories(dir.path() / "file").error()) == ENOTDIR);
  CHECK(error_of(files.make_directories(dir.path() / "file" / "below").error()) == ENOTDIR);
}

TEST_CASE("posix list, rename, remove and sync_directory work on names and report errno") {
  TempDir dir("peermq-posix-fs");
  auto& files = posix_file_system();
  REQUIRE(open(dir.path() / "one", OpenMode::create)->write(0, bytes("1")).ok());
  REQUIRE(open(dir.path() / "two", OpenMode::create)->write(0, bytes("2")).ok());
  REQUIRE(files.make_directories(dir.path() / "sub").ok());
  auto names = files.list(dir.path());
  REQUIRE(names.ok());
  std::sort(names->begin(), names->end());
  CHECK(*names == std::vector<std::string>{"one", "sub", "two"});  // no "." or ".."

  REQUIRE(files.rename(dir.path() / "one", dir.path() / "two").ok());  // replaces "two"
  CHECK(read_all(*open(dir.path() / "two", OpenMode::read)) == "1");
  CHECK_FALSE(fs::exists(dir.path() / "one"));
  REQUIRE(files.remove(dir.path() / "two").ok());
  CHECK(error_of(files.remove(dir.path() / "two").error()) == ENOENT);
  CHECK(error_of(files.rename(dir.path() / "two", dir.path() / "x").error()) == ENOENT);
  CHECK(files.sync_directory(dir.path()).ok());
  CHECK(error_of(files.sync_directory(dir.path() / "missing").error()) == ENOENT);
  CHECK(error_of(files.list(dir.path() / "missing").error()) == ENOENT);
}

TEST_CASE("a posix lock is exclusive until released and leaves the lock file's contents alone") {
  TempDir dir("peermq-posix-fs");
  auto& files = posix_file_system();
  const fs::path path = dir.path() / "LOCK";
  std::ofstream(path) << "kept";
  auto first = files.lock(path);
  REQUIRE(first.ok());
  CHECK(error_of(files.lock(path).error()) == EWOULDBLOCK);
  first->reset();
  auto second = files.lock(path);
  CHECK(second.ok());
  CHECK(fs::file_size(path) == 4);
  CHECK(error_of(files.lock(dir.path() / "missing" / "LOCK").error()) == ENOENT);
}

TEST_CASE("a posix file syncs on another thread while its owner keeps writing") {
  TempDir dir("peermq-posix-fs");
  // Shared as SegmentLog shares a segment with a SyncJob: either side may let go last.
  std::shared_ptr<File> file = open(dir.path() / "f", OpenMode::create);
  constexpr int kWrites = 200;
  int sync_errors = 0;
  std::thread syncer([job = file, &sync_errors] {
    for (int i = 0; i < 20; ++i)
      if (!job->sync()) ++sync_errors;
  });
  std::string expected;
  for (int i = 0; i < kWrites; ++i) {
    const std::string line = "record " + std::to_string(i) + "\n";
    REQUIRE(file->write(expected.size(), bytes(line)).ok());
    expected += line;
  }
  syncer.join();
  file.reset();  // the thread's copy went with it: this closes the file
  CHECK(sync_errors == 0);
  CHECK(read_all(*open(dir.path() / "f", OpenMode::read)) == expected);
}
