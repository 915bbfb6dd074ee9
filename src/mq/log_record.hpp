// Log records: the on-disk framing of the broker's log, with no I/O.
//
//   [u32 body length, little-endian][u32 CRC32C of the body, little-endian][body]
//
// The body is opaque here (the broker defines what it holds). A record's body is never
// empty: an all-zero header would otherwise be a valid empty record, and zero-filled
// space is exactly what a file system may leave at the end of a file after a crash.
//
// decode_record() validates the header and the checksum before handing out the body;
// RecordScanner walks the bytes of a whole segment and stops at the first record that
// does not decode, saying why and how long the valid prefix is, so recovery can truncate
// a torn tail or stop serving a corrupt segment. Views point into the caller's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include <peermq/result.hpp>

#include "wire/limits.hpp"

namespace peermq::mq {

// Why bytes are not a record. `truncated` at the end of the last segment is a torn
// write; everything else (and `truncated` anywhere else) is corruption.
enum class LogRecordError {
  truncated = 1,  // the bytes end inside the header or the body
  empty,          // length 0: never written by the log (zero-filled space reads so)
  too_large,      // length above the limit: a corrupt header
  bad_crc,        // the body does not match its CRC32C: corrupt or half-written bytes
};
const char* describe(LogRecordError e);
inline const char* category_name(LogRecordError) {
  return "peermq.mq.log_record";
}
PEERMQ_ERROR_ENUM(LogRecordError)

inline constexpr std::size_t kRecordHeaderSize = limits::kLogRecordHeaderSize;

// Bytes a record with a body of `body_size` takes on disk.
constexpr std::size_t record_size(std::size_t body_size) noexcept {
  return kRecordHeaderSize + body_size;
}

struct RecordView {
  std::span<const std::uint8_t> body;  // inside the decoded bytes
  std::size_t size = 0;                // header and body: the next record starts here
};

// Appends the record holding `body` to `out`. The caller has checked that
// 0 < body.size() <= limits::kLogRecordMaxBody (a programmer error otherwise).
void append_record(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> body);

// The record at the start of `bytes` (bytes after it are ignored). Bodies longer than
// `max_body` are refused as too_large before anything else is read.
Result<RecordView> decode_record(std::span<const std::uint8_t> bytes,
                                 std::size_t max_body = limits::kLogRecordMaxBody) noexcept;

// Walks the records of one segment, in order, stopping for good at the first bad one.
//
//   RecordScanner scan(bytes);
//   while (auto record = scan.next()) use(record->body);
//   if (scan.stop_reason()) ... scan.valid_bytes() is where the damage starts
class RecordScanner {
 public:
  explicit RecordScanner(std::span<const std::uint8_t> bytes,
                         std::size_t max_body = limits::kLogRecordMaxBody) noexcept
      : bytes_(bytes), max_body_(max_body) {}

  // The next valid record, or nothing at the end or at the first bad record.
  std::optional<RecordView> next() noexcept;

  // Length of the prefix made of the records next() returned.
  std::size_t valid_bytes() const noexcept { return offset_; }
  std::size_t records() const noexcept { return records_; }
  // Empty while scanning and after a clean end; otherwise why the scan stopped, with
  // the bad record starting at valid_bytes().
  std::error_code stop_reason() const noexcept { return stop_; }
  bool done() const noexcept { return done_; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t max_body_;
  std::size_t offset_ = 0;
  std::size_t records_ = 0;
  std::error_code stop_;
  bool done_ = false;
};

// The outcome of scanning all of `bytes`, records left uncounted by body.
struct ScanSummary {
  std::size_t valid_bytes = 0;
  std::size_t records = 0;
  std::error_code stop_reason;  // empty when every byte belongs to a valid record
};
ScanSummary scan_records(std::span<const std::uint8_t> bytes,
                         std::size_t max_body = limits::kLogRecordMaxBody) noexcept;

}  // namespace peermq::mq

PEERMQ_ERROR_ENUM_STD(peermq::mq::LogRecordError)
