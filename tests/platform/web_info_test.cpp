#include "platform/web_info.hpp"

#include <doctest/doctest.h>

using peermq::platform::web_info_json;

TEST_CASE("web info: the address and the WebSocket path, as JSON") {
  CHECK(web_info_json("abc234", "/peermq") == R"({"address":"abc234","websocket":"/peermq"})");
}

TEST_CASE("web info: any text stays valid JSON") {
  CHECK(web_info_json("a\"b\\c\n", "/p") == R"({"address":"a\"b\\c\u000a","websocket":"/p"})");
}
