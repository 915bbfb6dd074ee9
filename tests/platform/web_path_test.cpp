#include "platform/web_path.hpp"

#include <string>

#include <doctest/doctest.h>

using peermq::platform::web_file_path;

TEST_CASE("web path: a request names a file under the root, the index for a directory") {
  CHECK(web_file_path("/") == "index.html");
  CHECK(web_file_path("/app.js") == "app.js");
  CHECK(web_file_path("/a/b.wasm") == "a/b.wasm");
  CHECK(web_file_path("/dir/") == "dir/index.html");
  CHECK(web_file_path("/peermq-web.mjs") == "peermq-web.mjs");
}

TEST_CASE("web path: nothing escapes the root, no dotfiles, no odd bytes") {
  for (const char* bad : {"", "app.js", "/..", "/../etc/passwd", "/a/../../b", "/a/./b", "/.",
                          "//etc/passwd", "/a//b", "/.git/config", "/.copied", "/a\\..\\b",
                          "/%2e%2e/x", "/a\x01", "/a\x7f"}) {
    CAPTURE(bad);
    CHECK_FALSE(web_file_path(bad).has_value());
  }
  CHECK_FALSE(web_file_path(std::string("/a\0b", 4)).has_value());
  CHECK_FALSE(web_file_path("/" + std::string(peermq::platform::kMaxWebPath, 'a')).has_value());
}
