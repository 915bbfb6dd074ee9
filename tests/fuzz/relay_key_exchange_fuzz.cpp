// Fuzz target: arbitrary bytes as an unauthenticated datagram, to the relay key request
// and answer decoders (they run on whatever reaches a relay's or a node's socket). They
// must never read past the input; what they accept must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "overlay/relay_key_exchange.hpp"

using namespace peermq::overlay;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  if (auto nonce = decode_relay_key_request(in)) {
    const auto again = encode_relay_key_request(*nonce);
    if (size != again.size() || std::memcmp(again.data(), data, size) != 0) std::abort();
  }
  if (auto answer = decode_relay_key_answer(in)) {
    const auto again = encode_relay_key_answer(answer->nonce, answer->key);
    if (size != again.size() || std::memcmp(again.data(), data, size) != 0) std::abort();
  }
  return 0;
}
