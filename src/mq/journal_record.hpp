// Journal records: the bodies the broker appends to its durable log, and replays at start.
//
// The log (runtime/segment_log, framing in mq/log_record) stores opaque bodies with a
// sequence number each; these are what the broker puts in them. Each body is a msgpack
// array [type, fields...]; a newer broker may append fields, which older ones skip.
//
// Every stored message and every stored answer is identified by a uid: the sequence number
// of the record that holds it now. Compaction rewrites an old live record at the log's
// head (a `stored` or `answered` record naming the uid it replaces in prev_uid), so the
// old segment can be deleted; later records name the new uid.
//
//  #  type           fields (after the type tag)                     replay effect
//  1  stored         prev_uid u64 (0 = new), producer key bin[32],   a message (ready or in
//                    message id u64, command str, headers map,       the DLQ) with uid = seq;
//                    payload bin, expires_ms i64 (Unix ms, 0 never), removes prev_uid
//                    priority u8, flags u8, deliveries u32,
//                    dead_letter u8 (0 = no, else DeadLetterReason)
//  2  acked          uid u64                                         removes message uid
//  3  answered       acked_uid u64 (0 = none), prev_uid u64,         removes acked_uid and
//                    producer key, message id, status u8,            prev_uid; an answer for
//                    payload bin, reason str, expires_ms i64         the producer, uid = seq
//  4  answer_done    uid u64                                         removes answer uid
//  5  dead_lettered  uid u64, reason u8                              message uid -> DLQ
//  6  requeued       uid u64                                         DLQ message uid -> ready
//
// Times are Unix milliseconds (wall clock), so a TTL keeps its meaning across restarts.
// A decode error means the body is corrupt or from a newer broker: skip and count it.
// Decoded records are views into the body bytes; encoders append to a caller's vector.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/result.hpp>

#include "mq/mq_message.hpp"

namespace peermq::mq {

enum class RecordType : std::uint8_t {
  stored = 1,
  acked,
  answered,
  answer_done,
  dead_lettered,
  requeued,
};

struct StoredRecord {
  std::uint64_t prev_uid = 0;
  PublicKey producer{};
  std::uint64_t message_id = 0;
  std::string_view command;
  Headers headers;
  std::span<const std::uint8_t> payload;
  std::int64_t expires_ms = 0;
  std::uint8_t priority = 0;
  std::uint8_t flags = 0;
  std::uint32_t deliveries = 0;
  std::uint8_t dead_letter = 0;  // 0, or a DeadLetterReason
};
struct AckedRecord {
  std::uint64_t uid = 0;
};
struct AnsweredRecord {
  std::uint64_t acked_uid = 0;
  std::uint64_t prev_uid = 0;
  PublicKey producer{};
  std::uint64_t message_id = 0;
  AnswerStatus status = AnswerStatus::answered;
  std::span<const std::uint8_t> payload;
  std::string_view reason;
  std::int64_t expires_ms = 0;
};
struct AnswerDoneRecord {
  std::uint64_t uid = 0;
};
struct DeadLetteredRecord {
  std::uint64_t uid = 0;
  DeadLetterReason reason = DeadLetterReason::rejected;
};
struct RequeuedRecord {
  std::uint64_t uid = 0;
};

// Alternatives in RecordType order.
using JournalRecord = std::variant<StoredRecord, AckedRecord, AnsweredRecord, AnswerDoneRecord,
                                   DeadLetteredRecord, RequeuedRecord>;

Result<JournalRecord> decode_record(std::span<const std::uint8_t> body);
Result<JournalRecord> decode_record(std::vector<std::uint8_t>&&) = delete;  // views dangle

void encode_record(const JournalRecord& r, std::vector<std::uint8_t>& out);
void encode_record(const StoredRecord& r, std::vector<std::uint8_t>& out);
void encode_record(const AckedRecord& r, std::vector<std::uint8_t>& out);
void encode_record(const AnsweredRecord& r, std::vector<std::uint8_t>& out);
void encode_record(const AnswerDoneRecord& r, std::vector<std::uint8_t>& out);
void encode_record(const DeadLetteredRecord& r, std::vector<std::uint8_t>& out);
void encode_record(const RequeuedRecord& r, std::vector<std::uint8_t>& out);

}  // namespace peermq::mq
