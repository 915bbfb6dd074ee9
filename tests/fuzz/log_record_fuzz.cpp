// Fuzz target: arbitrary bytes as a log segment, to decode_record and RecordScanner.
//
// The decoder must never read past its input, and the scanner must agree with it: the
// records it returns tile the valid prefix exactly, each re-encodes to the same bytes,
// and it stops with a reason exactly when bytes are left over. The input is also cut
// into bodies that are framed and scanned back, which must give the same bodies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "mq/log_record.hpp"

using namespace peermq::mq;

namespace {

void check_scan(std::span<const std::uint8_t> in, std::size_t max_body) {
  RecordScanner scan(in, max_body);
  std::size_t at = 0;
  std::vector<std::uint8_t> again;
  while (auto record = scan.next()) {
    if (record->body.empty() || record->body.size() > max_body) std::abort();
    if (record->body.data() != in.data() + at + kRecordHeaderSize) std::abort();
    again.clear();
    append_record(again, record->body);
    if (again.size() != record->size ||
        std::memcmp(again.data(), in.data() + at, again.size()) != 0)
      std::abort();
    at += record->size;
  }
  if (!scan.done() || scan.valid_bytes() != at) std::abort();
  if (static_cast<bool>(scan.stop_reason()) != (at != in.size())) std::abort();
  if (scan.stop_reason()) {
    // The bad record alone is refused for the same reason.
    if (decode_record(in.subspan(at), max_body).error() != scan.stop_reason()) std::abort();
  }
}

void check_round_trip(std::span<const std::uint8_t> in) {
  // Bodies: the input cut where the byte 0x0A (newline) is; empty pieces are skipped.
  std::vector<std::span<const std::uint8_t>> bodies;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= in.size(); ++i) {
    if (i == in.size() || in[i] == 0x0A) {
      if (i > start) bodies.push_back(in.subspan(start, i - start));
      start = i + 1;
    }
  }
  std::vector<std::uint8_t> framed;
  for (auto body : bodies) append_record(framed, body);
  RecordScanner scan(framed);
  for (auto body : bodies) {
    auto record = scan.next();
    if (!record || record->body.size() != body.size() ||
        std::memcmp(record->body.data(), body.data(), body.size()) != 0)
      std::abort();
  }
  if (scan.next() || scan.stop_reason() || scan.valid_bytes() != framed.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  check_scan(in, peermq::limits::kLogRecordMaxBody);
  check_scan(in, 64);  // a small limit, so too_large is reachable with short inputs
  check_round_trip(in);
  return 0;
}
