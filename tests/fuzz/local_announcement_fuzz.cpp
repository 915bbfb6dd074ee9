// Fuzz target: arbitrary bytes as a local announcement file.
//
// The decoder must never read past its input, must fail only with typed errors, and must
// never accept a record whose signature it did not check: random bytes are signed by no
// one, so nothing but a valid record (e.g. a seed) may decode.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "overlay/local_announcement.hpp"
#include "support/manual_clock.hpp"
#include "wire/wire_error.hpp"

using namespace peermq;
using namespace peermq::overlay;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  // The key the record itself claims (bytes 4..36 in a well-formed record), so the
  // signature check is reached; and a fixed one, so key_mismatch is too.
  PublicKey claimed{};
  if (size >= 36) std::copy(in.begin() + 4, in.begin() + 36, claimed.begin());
  for (const PublicKey& expected : {claimed, PublicKey{}}) {
    auto a = decode_local_announcement(in, expected, ManualClock::kDefaultWall);
    if (!a) {
      const std::error_code e = a.error();
      if (e.category() != EnumCategory<OverlayError>::instance() &&
          e.category() != EnumCategory<wire::WireError>::instance()) {
        std::fprintf(stderr, "untyped error: %s\n", e.message().c_str());
        std::abort();
      }
      continue;
    }
    if (a->key != expected || a->endpoints.empty() ||
        a->endpoints.size() > limits::kMaxEndpointCandidates) {
      std::abort();
    }
  }
  return 0;
}
