#include "platform/web_root.hpp"

#include <filesystem>

#include <doctest/doctest.h>

#include "support/child_process.hpp"

namespace fs = std::filesystem;
using peermq::platform::choose_web_root;

TEST_CASE("web root: the configured one, else the build tree's, else the installed one") {
  const peermq::test::TempDir dir("peermq_web_root_test");
  const fs::path& base = dir.path();
  const fs::path bin = base / "bin";
  fs::create_directories(bin);
  CHECK(choose_web_root("/srv/page", bin) == "/srv/page");
  CHECK(choose_web_root("", bin) == base / "share" / "peermq" / "web");
  fs::create_directories(bin / "web");
  CHECK(choose_web_root("", bin) == bin / "web");
}

TEST_CASE("web root: the executable's directory is known") {
  CHECK(fs::is_directory(peermq::platform::executable_dir()));
}
