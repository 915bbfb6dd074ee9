// Fuzz target: a sequence of WebSocket message pieces, as libwebsockets hands them over,
// to the assembler. Each input byte pair is one piece: flags (first, last, binary) and a
// length taken from the bytes that follow. Whatever the order, the assembler never buffers
// more than its limit and every datagram it yields is non-empty and within the limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "platform/web_message_assembler.hpp"

using peermq::platform::WebMessageAssembler;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMax = 64;  // small, so oversized messages are common
  WebMessageAssembler assembler(kMax);
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t flags = data[at];
    const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
    WebMessageAssembler::Piece piece;
    piece.bytes = std::span<const std::uint8_t>(data + at + 2, length);
    piece.first = (flags & 1) != 0;
    piece.last = (flags & 2) != 0;
    piece.binary = (flags & 4) != 0;
    at += 2 + length;
    if (assembler.feed(piece) == WebMessageAssembler::Outcome::datagram) {
      const auto d = assembler.datagram();
      if (d.empty() || d.size() > kMax) std::abort();
    }
  }
  return 0;
}
