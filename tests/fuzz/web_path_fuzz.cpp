// Fuzz target: arbitrary bytes as the path of an HTTP request to the -web listener. What
// web_file_path accepts must be a relative path that cannot leave the web root: no empty,
// "." or ".." segment, no leading '/', no dotfile, no backslash or control character.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/web_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto path = peermq::platform::web_file_path(in);
  if (!path) return 0;
  const std::string_view p = *path;
  if (p.empty() || p.front() == '/') std::abort();
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = std::min(p.find('/', start), p.size());
    const std::string_view segment = p.substr(start, end - start);
    if (segment.empty() || segment.front() == '.') std::abort();
    start = end + 1;
  }
  for (const char c : p) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
  }
  return 0;
}
