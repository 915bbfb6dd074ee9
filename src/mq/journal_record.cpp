#include "mq/journal_record.hpp"

#include "mq/mq_error.hpp"
#include "wire/msgpack_reader.hpp"
#include "wire/msgpack_writer.hpp"

namespace peermq::mq {

using wire::MsgpackReader;
using wire::MsgpackRecord;
using wire::MsgpackWriter;

#define MQ_READ(var, expr)                    \
  auto var##_read = (expr);                   \
  if (!var##_read) return var##_read.error(); \
  auto var = *var##_read

namespace {

constexpr std::uint64_t kMaxType = static_cast<std::uint64_t>(RecordType::requeued);

Result<JournalRecord> decode_stored(MsgpackReader& r, MsgpackRecord& rec,
                                    std::span<const std::uint8_t> body) {
  StoredRecord s;
  MQ_READ(prev_uid, rec.read_u64());
  MQ_READ(producer, read_key_field(rec));
  MQ_READ(message_id, rec.read_u64());
  MQ_READ(command, read_command_field(rec));
  MQ_READ(headers, read_headers_field(r, rec, body));
  MQ_READ(payload, rec.read_bin(limits::kMaxPayload));
  MQ_READ(expires_ms, rec.read_i64());
  MQ_READ(priority, rec.read_u32(0, limits::kMaxPriority));
  MQ_READ(flags, rec.read_u32(0, 255));
  MQ_READ(deliveries, rec.read_u32());
  MQ_READ(dead_letter,
          rec.read_u32(0, static_cast<std::uint32_t>(DeadLetterReason::max_deliveries)));
  if (headers.encoded.size() + payload.size() > limits::kMaxPayload) return MqError::too_large;
  s.prev_uid = prev_uid;
  s.producer = producer;
  s.message_id = message_id;
  s.command = command;
  s.headers = headers;
  s.payload = payload;
  s.expires_ms = expires_ms;
  s.priority = static_cast<std::uint8_t>(priority);
  s.flags = static_cast<std::uint8_t>(flags & kKnownFlags);
  s.deliveries = deliveries;
  s.dead_letter = static_cast<std::uint8_t>(dead_letter);
  return JournalRecord(s);
}

Result<JournalRecord> decode_answered(MsgpackRecord& rec) {
  AnsweredRecord a;
  MQ_READ(acked_uid, rec.read_u64());
  MQ_READ(prev_uid, rec.read_u64());
  MQ_READ(producer, read_key_field(rec));
  MQ_READ(message_id, rec.read_u64());
  MQ_READ(status,
          rec.read_u32(0, static_cast<std::uint32_t>(AnswerStatus::expired)));
  MQ_READ(payload, rec.read_bin(limits::kMaxPayload));
  MQ_READ(reason, rec.read_str(limits::kMaxReasonText));
  MQ_READ(expires_ms, rec.read_i64());
  a.acked_uid = acked_uid;
  a.prev_uid = prev_uid;
  a.producer = producer;
  a.message_id = message_id;
  a.status = static_cast<AnswerStatus>(status);
  a.payload = payload;
  a.reason = reason;
  a.expires_ms = expires_ms;
  return JournalRecord(a);
}

Result<JournalRecord> decode_body(RecordType type, MsgpackReader& r, MsgpackRecord& rec,
                                  std::span<const std::uint8_t> body) {
  switch (type) {
    case RecordType::stored: return decode_stored(r, rec, body);
    case RecordType::acked: {
      MQ_READ(uid, rec.read_u64());
      return JournalRecord(AckedRecord{uid});
    }
    case RecordType::answered: return decode_answered(rec);
    case RecordType::answer_done: {
      MQ_READ(uid, rec.read_u64());
      return JournalRecord(AnswerDoneRecord{uid});
    }
    case RecordType::dead_lettered: {
      MQ_READ(uid, rec.read_u64());
      MQ_READ(reason, rec.read_u32(static_cast<std::uint32_t>(DeadLetterReason::rejected),
                                   static_cast<std::uint32_t>(DeadLetterReason::max_deliveries)));
      return JournalRecord(DeadLetteredRecord{uid, static_cast<DeadLetterReason>(reason)});
    }
    case RecordType::requeued: {
      MQ_READ(uid, rec.read_u64());
      return JournalRecord(RequeuedRecord{uid});
    }
  }
  return MqError::unknown_record_type;
}

void write_key(MsgpackWriter& w, const PublicKey& key) {
  w.bin(std::span<const std::uint8_t>(key.data(), key.size()));
}

// Upper bounds of encoded sizes: the array header and the type, then per field.
constexpr std::size_t kHeadBound = wire::kMsgpackHeaderBound + wire::kMsgpackIntBound;
constexpr std::size_t kIntBound = wire::kMsgpackIntBound;
constexpr std::size_t kKeyBound = wire::msgpack_bytes_bound(sizeof(PublicKey));

// A record of `fields` fields after its type, at most `bound` bytes, appended onto `out`
// with one resize (a record per message is written on the broker's hot path).
template <class Body>
void record(std::vector<std::uint8_t>& out, std::size_t bound, RecordType type,
            std::uint32_t fields, const Body& body) {
  wire::append_tagged(out, bound, type, fields, body);
}

}  // namespace

Result<JournalRecord> decode_record(std::span<const std::uint8_t> body) {
  wire::MsgpackLimits l;
  l.max_input = limits::kLogRecordMaxBody;
  l.max_bin = static_cast<std::uint32_t>(limits::kMaxPayload);
  MQ_READ(r, MsgpackReader::open(body, l));
  MQ_READ(rec, r.record(1));
  MQ_READ(tag, rec.read_u64());
  if (tag < 1 || tag > kMaxType) return MqError::unknown_record_type;
  auto record = decode_body(static_cast<RecordType>(tag), r, rec, body);
  if (!record) return record.error();
  rec.finish();
  return record;
}

void encode_record(const StoredRecord& s, std::vector<std::uint8_t>& out) {
  const std::size_t headers = s.headers.encoded.empty() ? 1 : s.headers.encoded.size();
  const std::size_t bound = kHeadBound + 7 * kIntBound + kKeyBound +
                            wire::msgpack_bytes_bound(s.command.size()) + headers +
                            wire::msgpack_bytes_bound(s.payload.size());
  record(out, bound, RecordType::stored, 11, [&](MsgpackWriter& w) {
    w.u64(s.prev_uid);
    write_key(w, s.producer);
    w.u64(s.message_id).str(s.command);
    if (s.headers.encoded.empty()) {
      w.map(0);
    } else {
      w.raw(s.headers.encoded);
    }
    w.bin(s.payload).i64(s.expires_ms).u64(s.priority).u64(s.flags).u64(s.deliveries);
    w.u64(s.dead_letter);
  });
}

void encode_record(const AckedRecord& a, std::vector<std::uint8_t>& out) {
  record(out, kHeadBound + kIntBound, RecordType::acked, 1,
         [&](MsgpackWriter& w) { w.u64(a.uid); });
}

void encode_record(const AnsweredRecord& a, std::vector<std::uint8_t>& out) {
  const std::size_t bound = kHeadBound + 5 * kIntBound + kKeyBound +
                            wire::msgpack_bytes_bound(a.payload.size()) +
                            wire::msgpack_bytes_bound(a.reason.size());
  record(out, bound, RecordType::answered, 8, [&](MsgpackWriter& w) {
    w.u64(a.acked_uid).u64(a.prev_uid);
    write_key(w, a.producer);
    w.u64(a.message_id).u64(static_cast<std::uint8_t>(a.status)).bin(a.payload).str(a.reason);
    w.i64(a.expires_ms);
  });
}

void encode_record(const AnswerDoneRecord& a, std::vector<std::uint8_t>& out) {
  record(out, kHeadBound + kIntBound, RecordType::answer_done, 1,
         [&](MsgpackWriter& w) { w.u64(a.uid); });
}

void encode_record(const DeadLetteredRecord& d, std::vector<std::uint8_t>& out) {
  record(out, kHeadBound + 2 * kIntBound, RecordType::dead_lettered, 2, [&](MsgpackWriter& w) {
    w.u64(d.uid).u64(static_cast<std::uint8_t>(d.reason));
  });
}

void encode_record(const RequeuedRecord& r, std::vector<std::uint8_t>& out) {
  record(out, kHeadBound + kIntBound, RecordType::requeued, 1,
         [&](MsgpackWriter& w) { w.u64(r.uid); });
}

void encode_record(const JournalRecord& r, std::vector<std::uint8_t>& out) {
  std::visit([&](const auto& v) { encode_record(v, out); }, r);
}

}  // namespace peermq::mq
