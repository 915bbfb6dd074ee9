#include "mq/log_record.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "mq/crc32c.hpp"

using peermq::mq::append_record;
using peermq::mq::decode_record;
using peermq::mq::kRecordHeaderSize;
using peermq::mq::LogRecordError;
using peermq::mq::RecordScanner;
using peermq::mq::scan_records;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

std::string text(std::span<const std::uint8_t> b) {
  return std::string(b.begin(), b.end());
}

Bytes records(std::initializer_list<std::string_view> bodies) {
  Bytes out;
  for (auto body : bodies) append_record(out, bytes(body));
  return out;
}

Bytes prefix(const Bytes& in, std::size_t n) {
  return Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
}

// `in` with the byte at `at` replaced.
Bytes with_byte(const Bytes& in, std::size_t at, std::uint8_t value) {
  Bytes out = in;
  out.at(at) = value;
  return out;
}

std::error_code code(LogRecordError e) {
  return make_error_code(e);
}

}  // namespace

TEST_CASE("a record is its length and CRC32C, little-endian, then the body") {
  const Bytes out = records({"123456789"});
  // crc32c("123456789") = 0xE3069283
  const Bytes want{9, 0, 0, 0, 0x83, 0x92, 0x06, 0xE3, '1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK(out == want);
  auto record = decode_record(out);
  REQUIRE(record.ok());
  CHECK(text(record->body) == "123456789");
  CHECK(record->size == out.size());
}

TEST_CASE("decode_record reads one record and ignores the bytes after it") {
  const Bytes out = records({"first", "second"});
  auto record = decode_record(out);
  REQUIRE(record.ok());
  CHECK(text(record->body) == "first");
  CHECK(record->size == kRecordHeaderSize + 5);
}

TEST_CASE("decode_record refuses malformed records with a typed error") {
  const Bytes good = records({"hello"});
  struct Case {
    const char* what;
    Bytes in;
    LogRecordError want;
  };
  const Bytes flipped_body = with_byte(good, good.size() - 1, 'o' ^ 0x01);
  const Bytes flipped_crc = with_byte(good, 5, static_cast<std::uint8_t>(good.at(5) ^ 0x80));
  const Bytes longer = with_byte(good, 0, 6);   // claims 6 bytes of body, has 5
  const Bytes shorter = with_byte(good, 0, 4);  // the CRC of "hell" is not that of "hello"
  const Bytes huge = with_byte(good, 3, 0xFF);
  const std::array cases{
      /* 1 */ Case{"no bytes", {}, LogRecordError::truncated},
      /* 2 */ Case{"half a header", prefix(good, 4), LogRecordError::truncated},
      /* 3 */ Case{"header, no body", prefix(good, 8), LogRecordError::truncated},
      /* 4 */ Case{"last byte missing", prefix(good, good.size() - 1), LogRecordError::truncated},
      /* 5 */ Case{"all zero header", Bytes(8, 0), LogRecordError::empty},
      /* 6 */ Case{"zero-filled page", Bytes(4096, 0), LogRecordError::empty},
      /* 7 */ Case{"length 0xFF000005", huge, LogRecordError::too_large},
      /* 8 */ Case{"flipped body bit", flipped_body, LogRecordError::bad_crc},
      /* 9 */ Case{"flipped CRC bit", flipped_crc, LogRecordError::bad_crc},
      /* 10 */ Case{"length one too long", longer, LogRecordError::truncated},
      /* 11 */ Case{"length one too short", shorter, LogRecordError::bad_crc},
      /* 12 */ Case{"all 0xFF", Bytes(64, 0xFF), LogRecordError::too_large},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(decode_record(c.in).error() == code(c.want));
  }
}

TEST_CASE("the body limit is checked before the length is trusted") {
  const Bytes out = records({"0123456789"});
  CHECK(decode_record(out, 10).ok());
  CHECK(decode_record(out, 9).error() == code(LogRecordError::too_large));
  // Too large wins over truncated: a 1 GiB length in a 12-byte buffer is a bad header.
  Bytes header{0, 0, 0, 0x40, 0, 0, 0, 0, 1, 2, 3, 4};
  CHECK(decode_record(header).error() == code(LogRecordError::too_large));
}

TEST_CASE("the scanner returns every record of clean bytes and ends without a reason") {
  const Bytes out = records({"a", "bb", "ccc"});
  RecordScanner scan(out);
  std::vector<std::string> seen;
  while (auto record = scan.next()) seen.push_back(text(record->body));
  CHECK(seen == std::vector<std::string>{"a", "bb", "ccc"});
  CHECK(scan.done());
  CHECK_FALSE(scan.stop_reason());
  CHECK(scan.valid_bytes() == out.size());
  CHECK(scan.records() == 3);
  CHECK_FALSE(scan.next().has_value());
}

TEST_CASE("the scanner stops at a torn last record and reports the valid prefix") {
  const Bytes whole = records({"one", "two", "three"});
  const std::size_t two_end = 2 * kRecordHeaderSize + 6;
  for (std::size_t cut = two_end + 1; cut < whole.size(); ++cut) {
    CAPTURE(cut);
    const auto summary = scan_records(std::span(whole).first(cut));
    CHECK(summary.records == 2);
    CHECK(summary.valid_bytes == two_end);
    CHECK(summary.stop_reason == code(LogRecordError::truncated));
  }
}

TEST_CASE("the scanner never returns a corrupt record nor anything after it") {
  Bytes out = records({"one", "two", "three"});
  out[kRecordHeaderSize + 3 + kRecordHeaderSize] ^= 0x20;  // 't' of "two" -> 'T'
  RecordScanner scan(out);
  std::vector<std::string> seen;
  while (auto record = scan.next()) seen.push_back(text(record->body));
  CHECK(seen == std::vector<std::string>{"one"});
  CHECK(scan.stop_reason() == code(LogRecordError::bad_crc));
  CHECK(scan.valid_bytes() == kRecordHeaderSize + 3);
}

TEST_CASE("the scanner treats zero-filled space after the records as damage") {
  Bytes out = records({"kept"});
  out.resize(out.size() + 512, 0);
  const auto summary = scan_records(out);
  CHECK(summary.records == 1);
  CHECK(summary.valid_bytes == kRecordHeaderSize + 4);
  CHECK(summary.stop_reason == code(LogRecordError::empty));
}

TEST_CASE("log record errors say what happened") {
  CHECK(code(LogRecordError::bad_crc).message().find("CRC32C") != std::string::npos);
  CHECK(std::string(code(LogRecordError::truncated).category().name()) == "peermq.mq.log_record");
}
