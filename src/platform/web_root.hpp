// Where the -web listener's page comes from: the directory it serves GET requests from.
//   1. -web-root=DIR when given;
//   2. else <directory of the running executable>/web, when it is a directory: the build
//      tree, where CMake copies web/page/ next to the peermq binary;
//   3. else <exe dir>/../share/peermq/web: where `cmake --install` puts the page.
// A root that does not exist serves 404s (and /peermq.json, which is no file).
#pragma once

#include <filesystem>

namespace peermq::platform {

std::filesystem::path choose_web_root(const std::filesystem::path& configured,
                                      const std::filesystem::path& executable_dir);

// The directory of the running executable (libuv's uv_exepath); empty if unknown.
std::filesystem::path executable_dir();

}  // namespace peermq::platform
