// web_info_json: the body of GET /peermq.json, which tells the page which key to expect
// at the other end of the WebSocket and where the WebSocket is:
//   {"address":"<this node's address>","websocket":"/peermq"}
// Served with Content-Type application/json. The address is base32 text; it is escaped
// anyway, so the body is valid JSON whatever it is given.
#pragma once

#include <string>
#include <string_view>

namespace peermq::platform {

std::string web_info_json(std::string_view address, std::string_view websocket_path);

}  // namespace peermq::platform
