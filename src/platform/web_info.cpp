#include "platform/web_info.hpp"

namespace peermq::platform {

namespace {

void append_json_string(std::string& out, std::string_view text) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string web_info_json(std::string_view address, std::string_view websocket_path) {
  std::string out = "{\"address\":";
  append_json_string(out, address);
  out += ",\"websocket\":";
  append_json_string(out, websocket_path);
  out += '}';
  return out;
}

}  // namespace peermq::platform
