#include "sim/sim_disk.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using peermq::sim::DiskOp;
using peermq::sim::Fault;
using peermq::sim::SimDisk;
using peermq::sim::SimDiskOptions;
using peermq::storage::File;
using peermq::storage::OpenMode;
namespace fs = std::filesystem;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::unique_ptr<File> open(SimDisk& disk, const fs::path& path, OpenMode mode) {
  auto file = disk.open(path, mode);
  INFO(path.string());
  REQUIRE(file.ok());
  return std::move(*file);
}

// Appends `text` to the file (created if missing), through a handle of its own.
void append(SimDisk& disk, const fs::path& path, std::string_view text) {
  auto existing = disk.open(path, OpenMode::read_write);
  auto file = existing ? std::move(*existing) : open(disk, path, OpenMode::create);
  REQUIRE(file->write(*file->size(), bytes(text)).ok());
}

void sync(SimDisk& disk, const fs::path& path) {
  REQUIRE(open(disk, path, OpenMode::read)->sync().ok());
}

// The file's contents, or nothing when there is no such file.
std::optional<std::string> contents(SimDisk& disk, const fs::path& path) {
  auto file = disk.open(path, OpenMode::read);
  if (!file) {
    REQUIRE(file.error().value() == ENOENT);
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(*(*file)->size()), '\0');
  auto n = (*file)->read(0, {reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  REQUIRE(n.ok());
  REQUIRE(*n == text.size());
  return text;
}

// /d, its entry durable, holding /d/f with "synced" durable and its entry durable too.
void durable_file(SimDisk& disk) {
  REQUIRE(disk.make_directories("/d").ok());
  append(disk, "/d/f", "synced");
  sync(disk, "/d/f");
  REQUIRE(disk.sync_directory("/d").ok());
}

SimDiskOptions crash_options(unsigned keeps_write, unsigned tears_write, unsigned keeps_dir) {
  SimDiskOptions o;
  o.crash_keeps_write = keeps_write;
  o.crash_tears_write = tears_write;
  o.crash_keeps_directory_change = keeps_dir;
  return o;
}

struct CrashCase {
  int number;
  const char* what;
  SimDiskOptions options;
  std::function<void(SimDisk&)> before;                     // then the crash
  std::map<std::string, std::optional<std::string>> after;  // path -> contents (none: absent)
};

}  // namespace

TEST_CASE("a crash keeps what was synced and loses the rest: the numbered crash cases") {
  const SimDiskOptions strict = crash_options(0, 0, 0);
  const std::vector<CrashCase> cases = {
      {1, "write, no sync, crash: the write is lost", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/f", " unsynced");
       },
       {{"/d/f", "synced"}}},
      {2, "write, sync, crash: the write survives", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/f", " more");
         sync(d, "/d/f");
       },
       {{"/d/f", "synced more"}}},
      {3, "write, sync, write, crash: only what the sync covered survives", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/f", "+1");
         sync(d, "/d/f");
         append(d, "/d/f", "+2");
       },
       {{"/d/f", "synced+1"}}},
      {4, "create, write, sync the file but not the directory, crash: the file is gone", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/new", "data");
         sync(d, "/d/new");
       },
       {{"/d/new", std::nullopt}, {"/d/f", "synced"}}},
      {5, "create, sync the directory, crash: the file is there, empty", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/new", "data");
         REQUIRE(d.sync_directory("/d").ok());
       },
       {{"/d/new", ""}}},
      {6, "rename without a directory sync, crash: the old name is back", strict,
       [](SimDisk& d) {
         durable_file(d);
         REQUIRE(d.rename("/d/f", "/d/g").ok());
       },
       {{"/d/f", "synced"}, {"/d/g", std::nullopt}}},
      {7, "rename, sync the directory, crash: only the new name", strict,
       [](SimDisk& d) {
         durable_file(d);
         REQUIRE(d.rename("/d/f", "/d/g").ok());
         REQUIRE(d.sync_directory("/d").ok());
       },
       {{"/d/f", std::nullopt}, {"/d/g", "synced"}}},
      {8, "remove without a directory sync, crash: the file is back with its synced contents",
       strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/f", " unsynced");
         REQUIRE(d.remove("/d/f").ok());
       },
       {{"/d/f", "synced"}}},
      {9, "remove, sync the directory, crash: the file stays gone", strict,
       [](SimDisk& d) {
         durable_file(d);
         REQUIRE(d.remove("/d/f").ok());
         REQUIRE(d.sync_directory("/d").ok());
       },
       {{"/d/f", std::nullopt}}},
      {10, "truncate without a sync, crash: the truncate is undone", strict,
       [](SimDisk& d) {
         durable_file(d);
         REQUIRE(open(d, "/d/f", OpenMode::read_write)->truncate(2).ok());
       },
       {{"/d/f", "synced"}}},
      {11, "a torn write keeps a prefix of the last unsynced write", crash_options(0, 100, 0),
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/f", "XY");  // two bytes: the only prefix is "X"
       },
       {{"/d/f", "syncedX"}}},
      {12, "a write the crash keeps survives whole; one it drops leaves zeros before a later one",
       crash_options(100, 0, 0),
       [](SimDisk& d) {
         durable_file(d);
         REQUIRE(open(d, "/d/f", OpenMode::read_write)->write(8, bytes("zz")).ok());
       },
       {{"/d/f", std::string("synced\0\0zz", 10)}}},
      {13, "directory changes a crash keeps survive in order", crash_options(0, 0, 100),
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/a", "never synced");
         REQUIRE(d.rename("/d/f", "/d/g").ok());
       },
       {{"/d/a", ""}, {"/d/f", std::nullopt}, {"/d/g", "synced"}}},
      {14, "sync_file_system makes every file and entry durable, closed files too", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/closed", "written, closed, never synced");
         append(d, "/d/f", "+");
         REQUIRE(open(d, "/d/f", OpenMode::read)->sync_file_system().ok());
       },
       {{"/d/closed", "written, closed, never synced"}, {"/d/f", "synced+"}}},
      {15, "a directory make_directories created survives with what was synced in it", strict,
       [](SimDisk& d) {
         REQUIRE(d.make_directories("/a/b/c").ok());
         append(d, "/a/b/c/f", "x");
         sync(d, "/a/b/c/f");
         REQUIRE(d.sync_directory("/a/b/c").ok());
       },
       {{"/a/b/c/f", "x"}}},
      {16, "a failed sync loses its writes for good, even after a sync that succeeds", strict,
       [](SimDisk& d) {
         durable_file(d);
         append(d, "/d/f", " lost");
         d.inject({DiskOp::sync, EIO, "/d/f", 1});
         CHECK(open(d, "/d/f", OpenMode::read)->sync().error().value() == EIO);
         CHECK(*contents(d, "/d/f") == "synced lost");  // still read back before the crash
         sync(d, "/d/f");
         append(d, "/d/f", " kept");
         sync(d, "/d/f");
       },
       // The second sync covered " kept" only: " lost" left a hole of zeros.
       {{"/d/f", std::string("synced\0\0\0\0\0 kept", 16)}}},
  };
  for (const CrashCase& c : cases) {
    const std::string what = std::to_string(c.number) + ". " + c.what;
    CAPTURE(what);
    SimDisk disk(c.options);
    c.before(disk);
    disk.crash();
    for (const auto& entry : c.after) {
      const std::string& path = entry.first;
      CAPTURE(path);
      CHECK(contents(disk, path) == entry.second);
    }
  }
}

TEST_CASE("a torn write keeps a prefix of 1 to n-1 bytes, and only of writes after the last sync") {
  const std::string tail(64, 't');
  std::set<std::size_t> lengths;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    SimDiskOptions o = crash_options(0, 100, 0);
    o.seed = seed;
    SimDisk disk(o);
    durable_file(disk);
    append(disk, "/d/f", tail);
    disk.crash();
    const std::string after = *contents(disk, "/d/f");
    REQUIRE(after.size() > 6);
    REQUIRE(after.size() < 6 + tail.size());
    CHECK(after == "synced" + tail.substr(0, after.size() - 6));
    lengths.insert(after.size());
    CHECK(disk.stats().writes_torn == 1);
  }
  CHECK(lengths.size() > 10);  // the cut falls anywhere, not at one place
}

TEST_CASE("the same seed and the same calls give the same disk after a crash") {
  auto run = [](std::uint64_t seed) {
    SimDiskOptions o = crash_options(50, 50, 50);
    o.seed = seed;
    SimDisk disk(o);
    REQUIRE(disk.make_directories("/d").ok());
    for (int i = 0; i < 20; ++i) append(disk, "/d/f" + std::to_string(i % 4), std::string(10, 'a'));
    disk.crash();
    std::string out;
    for (int i = 0; i < 4; ++i) out += contents(disk, "/d/f" + std::to_string(i)).value_or("-") + "|";
    return out;
  };
  CHECK(run(7) == run(7));
  std::set<std::string> outcomes;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) outcomes.insert(run(seed));
  CHECK(outcomes.size() > 1);  // and the seed decides
}

TEST_CASE("a crash releases every lock and kills every handle opened before it") {
  SimDisk disk;
  REQUIRE(disk.make_directories("/d").ok());
  auto lock = disk.lock("/d/LOCK");
  REQUIRE(lock.ok());
  CHECK(disk.lock("/d/LOCK").error().value() == EWOULDBLOCK);
  auto file = open(disk, "/d/f", OpenMode::create);
  disk.crash();
  CHECK(file->write(0, bytes("x")).error().value() == EBADF);
  CHECK(file->sync().error().value() == EBADF);
  auto again = disk.lock("/d/LOCK");  // the dead process's lock went with it
  REQUIRE(again.ok());
  lock->reset();  // the old lock's end frees nothing of the new one
  CHECK(disk.lock("/d/LOCK").error().value() == EWOULDBLOCK);
  again->reset();
  CHECK(disk.lock("/d/LOCK").ok());
}

TEST_CASE("an injected fault fails the next call on its path, or on any, and changes nothing") {
  SimDisk disk;
  REQUIRE(disk.make_directories("/d/ro").ok());
  disk.inject({DiskOp::create, EACCES, "/d/ro", -1});
  CHECK(disk.open("/d/ro/f", OpenMode::create).error().value() == EACCES);
  CHECK(disk.open("/d/ro/g", OpenMode::create).error().value() == EACCES);  // every time
  CHECK(disk.list("/d/ro")->empty());
  CHECK(disk.open("/d/rw", OpenMode::create).ok());  // elsewhere: fine
  CHECK(disk.open("/d/rox", OpenMode::create).ok());  // a name that only starts the same
  disk.clear_faults();
  CHECK(disk.open("/d/ro/f", OpenMode::create).ok());

  auto file = open(disk, "/d/rw", OpenMode::read_write);
  disk.inject({DiskOp::write, EIO, {}, 1});  // the next write of any file, once
  CHECK(file->write(0, bytes("abc")).error().value() == EIO);
  CHECK(*file->size() == 0);
  CHECK(file->write(0, bytes("abc")).ok());
  CHECK(disk.stats().faults == 3);
}

TEST_CASE("a full disk writes what fits, then fails with ENOSPC, and overwriting in place works") {
  SimDisk disk;
  disk.set_capacity(10);
  auto file = open(disk, "/f", OpenMode::create);
  CHECK(file->write(0, bytes("123456")).ok());
  CHECK(file->write(6, bytes("789abc")).error().value() == ENOSPC);
  CHECK(*contents(disk, "/f") == "123456789a");  // a prefix made it, as a real disk does
  CHECK(disk.used_bytes() == 10);
  CHECK(file->write(0, bytes("ABC")).ok());  // in place: no new space
  CHECK(file->truncate(11).error().value() == ENOSPC);
  CHECK(file->truncate(4).ok());
  CHECK(file->write(4, bytes("xyz")).ok());  // space again
  CHECK(*contents(disk, "/f") == "ABC4xyz");
}

TEST_CASE("the simulated disk reports the errors a POSIX file system does") {
  SimDisk disk;
  CHECK(disk.open("/missing", OpenMode::read).error().value() == ENOENT);
  CHECK(disk.open("/no/such/dir/f", OpenMode::create).error().value() == ENOENT);
  REQUIRE(disk.make_directories("/d").ok());
  CHECK(disk.make_directories("/d").ok());  // exists: fine
  CHECK(disk.open("/d", OpenMode::read).error().value() == EISDIR);
  append(disk, "/d/f", "x");
  CHECK(disk.make_directories("/d/f").error().value() == ENOTDIR);
  CHECK(disk.make_directories("/d/f/below").error().value() == ENOTDIR);
  CHECK(disk.open("/d/f/below", OpenMode::create).error().value() == ENOTDIR);
  CHECK(disk.remove("/d/nothing").error().value() == ENOENT);
  CHECK(disk.rename("/d/nothing", "/d/x").error().value() == ENOENT);
  CHECK(open(disk, "/d/f", OpenMode::read)->write(0, bytes("y")).error().value() == EBADF);
  CHECK(*disk.list("/d") == std::vector<std::string>{"f"});
  // Removing a file someone has open leaves the handle working.
  auto held = open(disk, "/d/f", OpenMode::read_write);
  REQUIRE(disk.remove("/d/f").ok());
  CHECK(held->write(1, bytes("z")).ok());
  CHECK(*held->size() == 2);
  CHECK(disk.list("/d")->empty());
}
