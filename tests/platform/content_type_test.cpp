#include "platform/content_type.hpp"

#include <doctest/doctest.h>

using peermq::platform::content_type_of;

TEST_CASE("content type: the page's file types, octet-stream for the rest") {
  CHECK(content_type_of("index.html") == "text/html; charset=utf-8");
  CHECK(content_type_of("app.js") == "text/javascript; charset=utf-8");
  CHECK(content_type_of("lib/peermq.mjs") == "text/javascript; charset=utf-8");
  CHECK(content_type_of("peermq.wasm") == "application/wasm");
  CHECK(content_type_of("style.css") == "text/css; charset=utf-8");
  CHECK(content_type_of("data.json") == "application/json");
  CHECK(content_type_of("README") == "application/octet-stream");
  CHECK(content_type_of("archive.tar.gz") == "application/octet-stream");
  CHECK(content_type_of("dir.js/file") == "application/octet-stream");
  CHECK(content_type_of("INDEX.HTML") == "application/octet-stream");
}
