// libFuzzer target for the queue protocol decoder (mq/mq_message.hpp).
//
// Arbitrary bytes must give a typed error or a message; never a crash, a hang or a read
// past the input. A message that decodes must encode to bytes that decode to the same
// message type and encode again to the very same bytes (a fixpoint), and every view it
// holds must lie inside the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq/mq_message.hpp"
#include "wire/wire_error.hpp"

using namespace peermq::mq;
using Bytes = std::vector<std::uint8_t>;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

bool inside(std::span<const std::uint8_t> input, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return n == 0 || (b >= input.data() && b + n <= input.data() + input.size());
}

void check_views(std::span<const std::uint8_t> in, const Message& m) {
  auto sv = [&](std::string_view s) { require(inside(in, s.data(), s.size()), "str view"); };
  auto bv = [&](std::span<const std::uint8_t> b) {
    require(inside(in, b.data(), b.size()), "bin view");
  };
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Publish>) {
          sv(v.command);
          bv(v.headers.encoded);
          bv(v.payload);
          require(v.headers.encoded.size() + v.payload.size() <= peermq::limits::kMaxPayload,
                  "publish size");
          require(valid_command(v.command), "publish command");
          v.headers.for_each([&](std::string_view n, std::string_view val) {
            sv(n);
            sv(val);
          });
        } else if constexpr (std::is_same_v<T, Deliver>) {
          sv(v.command);
          bv(v.headers.encoded);
          bv(v.payload);
        } else if constexpr (std::is_same_v<T, Hello>) {
          sv(v.name);
          for (std::string_view c : v.commands) sv(c);
        } else if constexpr (std::is_same_v<T, Answer>) {
          bv(v.payload);
        } else if constexpr (std::is_same_v<T, AnswerToProducer>) {
          bv(v.payload);
          sv(v.reason);
        }
      },
      m);
}

bool is_decode_error(std::error_code e) {
  return e.category() == peermq::wire::make_error_code(peermq::wire::WireError::truncated)
                             .category() ||
         e.category() == make_error_code(MqError::bad_enum).category();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, data + size);
  auto m = decode(input);
  if (!m) {
    require(is_decode_error(m.error()), "decode fails only with wire or mq errors");
    return 0;
  }
  check_views(input, *m);
  Bytes once;
  encode(*m, once);
  auto again = decode(once);
  require(again.ok(), "re-encoded message decodes");
  require(type_of(*again) == type_of(*m), "same type");
  Bytes twice;
  encode(*again, twice);
  require(twice == once, "encoding is a fixpoint");
  return 0;
}
