#include "platform/web_path.hpp"

namespace peermq::platform {

namespace {

bool allowed_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u != 0x7f && c != '\\' && c != '%';
}

}  // namespace

std::optional<std::string> web_file_path(std::string_view request) {
  if (request.empty() || request.front() != '/' || request.size() > kMaxWebPath) return std::nullopt;
  std::string out;
  std::string_view rest = request.substr(1);
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    // Empty ("//"), ".", ".." and dotfiles: none names a file a page serves.
    if (segment.empty() || segment.front() == '.') return std::nullopt;
    for (char c : segment) {
      if (!allowed_char(c)) return std::nullopt;
    }
    if (!out.empty()) out += '/';
    out += segment;
    if (slash == std::string_view::npos) return out;
    rest = rest.substr(slash + 1);
  }
  // The path ends with '/' (or is "/"): the directory's index, never a listing.
  if (!out.empty()) out += '/';
  out += "index.html";
  return out;
}

}  // namespace peermq::platform
