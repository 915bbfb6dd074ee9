#include "platform/web_root.hpp"

#include <filesystem>

#include <doctest/doctest.h>

namespace fs = std::filesystem;
using peermq::platform::choose_web_root;

TEST_CASE("web root: the configured one, else the build tree's, else the installed one") {
  const fs::path base = fs::temp_directory_path() / "peermq_web_root_test";
  fs::remove_all(base);
  const fs::path bin = base / "bin";
  fs::create_directories(bin);
  CHECK(choose_web_root("/srv/page", bin) == "/srv/page");
  CHECK(choose_web_root("", bin) == base / "share" / "peermq" / "web");
  fs::create_directories(bin / "web");
  CHECK(choose_web_root("", bin) == bin / "web");
  fs::remove_all(base);
}

TEST_CASE("web root: the executable's directory is known") {
  CHECK(fs::is_directory(peermq::platform::executable_dir()));
}
