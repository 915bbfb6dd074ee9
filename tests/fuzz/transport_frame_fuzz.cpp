// Fuzz target: arbitrary bytes as a decrypted session payload, to the transport frame
// decoder. It must never read past its input; what it accepts must re-encode to the same
// header bytes, and its body must be exactly the rest of the input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "wire/transport_frame.hpp"

using namespace peermq;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  auto frame = wire::decode_transport_frame(in);
  if (!frame) return 0;
  std::array<std::uint8_t, limits::kTransportFrameHeaderSize> header{};
  wire::encode_transport_frame_header(frame->kind, frame->sender_incarnation,
                                      frame->receiver_incarnation, header);
  if (std::memcmp(header.data(), data, header.size()) != 0) std::abort();
  if (frame->body.data() != data + header.size() || frame->body.size() != size - header.size())
    std::abort();
  return 0;
}
