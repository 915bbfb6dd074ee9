#include "mq/log_record.hpp"

#include <cassert>

#include "mq/crc32c.hpp"

namespace peermq::mq {
namespace {

std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

void put_le32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

const char* describe(LogRecordError e) {
  switch (e) {
    case LogRecordError::truncated:
      return "log record is cut short (a torn write at the end of the log, or a damaged file)";
    case LogRecordError::empty:
      return "log record has length zero (zero-filled space, never a record the log wrote)";
    case LogRecordError::too_large:
      return "log record length is above the limit (a damaged record header)";
    case LogRecordError::bad_crc:
      return "log record fails its CRC32C check (damaged or half-written bytes)";
  }
  return "unknown log record error";
}

void append_record(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> body) {
  assert(!body.empty() && body.size() <= limits::kLogRecordMaxBody);
  const std::size_t at = out.size();
  out.resize(at + kRecordHeaderSize);
  put_le32(out.data() + at, static_cast<std::uint32_t>(body.size()));
  put_le32(out.data() + at + 4, crc32c(body));
  out.insert(out.end(), body.begin(), body.end());
}

Result<RecordView> decode_record(std::span<const std::uint8_t> bytes,
                                 std::size_t max_body) noexcept {
  if (bytes.size() < kRecordHeaderSize) return LogRecordError::truncated;
  const std::size_t length = load_le32(bytes.data());
  if (length == 0) return LogRecordError::empty;
  // Before the length is used for anything, so a damaged header costs nothing.
  if (length > max_body) return LogRecordError::too_large;
  if (bytes.size() - kRecordHeaderSize < length) return LogRecordError::truncated;
  const auto body = bytes.subspan(kRecordHeaderSize, length);
  if (crc32c(body) != load_le32(bytes.data() + 4)) return LogRecordError::bad_crc;
  return RecordView{body, record_size(length)};
}

std::optional<RecordView> RecordScanner::next() noexcept {
  if (done_) return std::nullopt;
  if (offset_ == bytes_.size()) {
    done_ = true;
    return std::nullopt;
  }
  auto record = decode_record(bytes_.subspan(offset_), max_body_);
  if (!record) {
    stop_ = record.error();
    done_ = true;
    return std::nullopt;
  }
  offset_ += record->size;
  ++records_;
  return *record;
}

ScanSummary scan_records(std::span<const std::uint8_t> bytes, std::size_t max_body) noexcept {
  RecordScanner scan(bytes, max_body);
  while (scan.next()) {
  }
  return {scan.valid_bytes(), scan.records(), scan.stop_reason()};
}

}  // namespace peermq::mq
