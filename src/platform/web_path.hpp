// web_file_path: the file a GET request names, as a path relative to the web root, or
// nothing when the request must be answered 404. Strict, so that no request reaches a
// file outside the root and no directory is listed:
//   "/"              -> "index.html";  "/dir/" -> "dir/index.html"
//   "/app.js"        -> "app.js";      "/a/b.wasm" -> "a/b.wasm"
//   refused: a path not starting with '/', a segment that is empty ("//"), "." or ".."
//   or starts with '.' (no dotfiles), a backslash, a NUL or other control character, a
//   '%' (libwebsockets has decoded escapes already: one left is a double encoding), and
//   paths longer than kMaxWebPath.
// Whether the file exists, and is a regular file, the caller checks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace peermq::platform {

inline constexpr std::size_t kMaxWebPath = 1024;

std::optional<std::string> web_file_path(std::string_view request_path);

}  // namespace peermq::platform
