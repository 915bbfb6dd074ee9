// CRC32C (Castagnoli; reflected polynomial 0x82F63B78), the checksum of every log record.
//
// The same CRC as iSCSI (RFC 3720), ext4 and most storage formats, so its values can be
// checked with common tools. crc32c() uses the SSE4.2 CRC32 instruction when the CPU has
// it (asked once, at the first call) and slicing-by-8 tables otherwise; both paths are
// public so the tests hold each to the same test vectors.
//
// Pure functions of their arguments: any thread, no allocation.
#pragma once

#include <cstdint>
#include <span>

namespace peermq::mq {

// CRC32C of `bytes`. To go on over more bytes, pass the previous result as `crc`:
// crc32c(b, crc32c(a)) == crc32c(a followed by b).
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) noexcept;

// The table path, on any CPU.
std::uint32_t crc32c_portable(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) noexcept;

// The SSE4.2 path. Call it only when crc32c_hardware() is true: elsewhere the instruction
// faults (on non-x86 builds it is the table path).
std::uint32_t crc32c_sse42(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) noexcept;

// Whether this CPU runs crc32c_sse42(), and so whether crc32c() uses it.
bool crc32c_hardware() noexcept;

}  // namespace peermq::mq
