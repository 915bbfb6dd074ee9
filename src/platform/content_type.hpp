// content_type_of: the Content-Type a file is served with, by its extension (lower
// case only, as the page's files are named): .html, .js and .mjs (JavaScript modules),
// .wasm (application/wasm, which WebAssembly.instantiateStreaming requires), .css,
// .json, .svg, .png, .ico; application/octet-stream for anything else, so that a browser
// never guesses.
#pragma once

#include <string_view>

namespace peermq::platform {

std::string_view content_type_of(std::string_view file_name) noexcept;

}  // namespace peermq::platform
