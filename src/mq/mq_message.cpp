#include "mq/mq_message.hpp"

#include <algorithm>

#include "mq/mq_error.hpp"
#include "wire/msgpack_writer.hpp"
#include "wire/wire_error.hpp"

namespace peermq::mq {

using wire::MsgpackReader;
using wire::MsgpackRecord;
using wire::MsgpackWriter;
using Bytes = std::span<const std::uint8_t>;

// Reads a field into `var` or returns its error from the enclosing decoder.
#define MQ_READ(var, expr)            \
  auto var##_read = (expr);           \
  if (!var##_read) return var##_read.error(); \
  auto var = *var##_read

namespace {

constexpr std::uint32_t kMaxType = static_cast<std::uint32_t>(MessageType::bye);
constexpr std::uint64_t kMaxTtlMs =
    static_cast<std::uint64_t>(std::chrono::milliseconds(limits::kMaxMessageTtl).count());

wire::MsgpackLimits message_limits() {
  wire::MsgpackLimits l;
  l.max_input = limits::kMaxMessageSize;
  l.max_bin = static_cast<std::uint32_t>(limits::kMaxPayload);
  return l;
}

Result<std::string_view> read_command(MsgpackReader& r) {
  MQ_READ(command, r.read_str(limits::kMaxCommandName));
  if (!valid_command(command)) return MqError::bad_command;
  return command;
}

Result<std::uint8_t> read_flags(MsgpackRecord& rec) {
  MQ_READ(flags, rec.read_u32(0, 255));
  if ((flags & ~std::uint32_t{kKnownFlags}) != 0) return MqError::bad_enum;
  return static_cast<std::uint8_t>(flags);
}

template <class E>
Result<E> read_enum(MsgpackRecord& rec, E first, E last) {
  MQ_READ(v, rec.read_u32());
  if (v < static_cast<std::uint32_t>(first) || v > static_cast<std::uint32_t>(last)) {
    return MqError::bad_enum;
  }
  return static_cast<E>(v);
}

Result<Message> decode_hello(MsgpackReader& r, MsgpackRecord& rec) {
  Hello m;
  MQ_READ(version, rec.read_u32());
  MQ_READ(role, read_enum(rec, Role::producer, Role::admin));
  MQ_READ(name, rec.read_str(limits::kMaxClientName));
  MQ_READ(count, rec.array(0, static_cast<std::uint32_t>(limits::kMaxSubscriptions)));
  m.commands.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    MQ_READ(command, read_command(r));
    m.commands.push_back(command);
  }
  MQ_READ(prefetch, rec.read_u32(0, limits::kMaxPrefetch));
  m.version = version;
  m.role = role;
  m.name = name;
  m.prefetch = prefetch;
  return Message(std::move(m));
}

Result<Message> decode_publish(MsgpackReader& r, MsgpackRecord& rec, Bytes input) {
  MQ_READ(id, rec.read_u64());
  MQ_READ(command, read_command_field(rec));
  MQ_READ(headers, read_headers_field(r, rec, input));
  MQ_READ(payload, rec.read_bin(limits::kMaxPayload));
  MQ_READ(ttl, rec.read_u64(0, kMaxTtlMs));
  MQ_READ(priority, rec.read_u32(0, limits::kMaxPriority));
  MQ_READ(flags, read_flags(rec));
  if (headers.encoded.size() + payload.size() > limits::kMaxPayload) return MqError::too_large;
  return Message(Publish{id, command, headers, payload, ttl,
                         static_cast<std::uint8_t>(priority), flags});
}

Result<Message> decode_deliver(MsgpackReader& r, MsgpackRecord& rec, Bytes input) {
  MQ_READ(tag, rec.read_u64());
  MQ_READ(message_id, rec.read_u64());
  MQ_READ(producer, read_key_field(rec));
  MQ_READ(command, read_command_field(rec));
  MQ_READ(headers, read_headers_field(r, rec, input));
  MQ_READ(payload, rec.read_bin(limits::kMaxPayload));
  MQ_READ(count, rec.read_u32(1));
  MQ_READ(priority, rec.read_u32(0, limits::kMaxPriority));
  MQ_READ(flags, read_flags(rec));
  if (headers.encoded.size() + payload.size() > limits::kMaxPayload) return MqError::too_large;
  return Message(Deliver{tag, message_id, producer, command, headers, payload, count,
                         static_cast<std::uint8_t>(priority), flags});
}

Result<Message> decode_dlq_list_result(MsgpackReader& r, MsgpackRecord& rec) {
  DlqListResult m;
  MQ_READ(request_id, rec.read_u64());
  MQ_READ(next, rec.read_u64());
  MQ_READ(total, rec.read_u64());
  MQ_READ(count, rec.array(0, limits::kMaxDlqPage));
  m.entries.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    MQ_READ(entry, r.record(7));
    MQ_READ(uid, entry.read_u64());
    MQ_READ(message_id, entry.read_u64());
    MQ_READ(producer, read_key_field(entry));
    MQ_READ(command, read_command_field(entry));
    MQ_READ(deliveries, entry.read_u32());
    MQ_READ(reason,
            read_enum(entry, DeadLetterReason::rejected, DeadLetterReason::max_deliveries));
    MQ_READ(size, entry.read_u32());
    entry.finish();
    m.entries.push_back(
        DlqEntry{uid, message_id, producer, command, deliveries, reason, size});
  }
  m.request_id = request_id;
  m.next = next;
  m.total = total;
  return Message(std::move(m));
}

Result<Message> decode_dlq_modify(MsgpackReader& r, MsgpackRecord& rec) {
  DlqModify m;
  MQ_READ(request_id, rec.read_u64());
  MQ_READ(action, read_enum(rec, DlqAction::requeue, DlqAction::purge));
  MQ_READ(all, rec.read_bool());
  MQ_READ(count, rec.array(0, limits::kMaxDlqBatch));
  m.uids.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    MQ_READ(uid, r.read_u64());
    m.uids.push_back(uid);
  }
  m.request_id = request_id;
  m.action = action;
  m.all = all;
  return Message(std::move(m));
}

Result<Message> decode_body(MessageType type, MsgpackReader& r, MsgpackRecord& rec,
                            Bytes input) {
  switch (type) {
    case MessageType::hello: return decode_hello(r, rec);
    case MessageType::hello_ok: {
      MQ_READ(version, rec.read_u32());
      return Message(HelloOk{version});
    }
    case MessageType::refused: {
      MQ_READ(code, read_enum(rec, RefuseCode::not_allowed, RefuseCode::bad_version));
      MQ_READ(text, rec.read_str(limits::kMaxReasonText));
      return Message(Refused{code, text});
    }
    case MessageType::publish: return decode_publish(r, rec, input);
    case MessageType::confirm: {
      MQ_READ(id, rec.read_u64());
      return Message(Confirm{id});
    }
    case MessageType::publish_nack: {
      MQ_READ(id, rec.read_u64());
      MQ_READ(reason, read_enum(rec, NackReason::queue_full, NackReason::not_allowed));
      MQ_READ(text, rec.read_str(limits::kMaxReasonText));
      return Message(PublishNack{id, reason, text});
    }
    case MessageType::deliver: return decode_deliver(r, rec, input);
    case MessageType::answer: {
      MQ_READ(tag, rec.read_u64());
      MQ_READ(payload, rec.read_bin(limits::kMaxPayload));
      return Message(Answer{tag, payload});
    }
    case MessageType::reject: {
      MQ_READ(tag, rec.read_u64());
      MQ_READ(requeue, rec.read_bool());
      MQ_READ(reason, rec.read_str(limits::kMaxReasonText));
      return Message(Reject{tag, requeue, reason});
    }
    case MessageType::answer_to_producer: {
      MQ_READ(id, rec.read_u64());
      MQ_READ(status, read_enum(rec, AnswerStatus::answered, AnswerStatus::expired));
      MQ_READ(payload, rec.read_bin(limits::kMaxPayload));
      MQ_READ(reason, rec.read_str(limits::kMaxReasonText));
      return Message(AnswerToProducer{id, status, payload, reason});
    }
    case MessageType::answer_received: {
      MQ_READ(id, rec.read_u64());
      return Message(AnswerReceived{id});
    }
    case MessageType::credit: {
      MQ_READ(prefetch, rec.read_u32(0, limits::kMaxPrefetch));
      return Message(Credit{prefetch});
    }
    case MessageType::dlq_list: {
      MQ_READ(request_id, rec.read_u64());
      MQ_READ(after, rec.read_u64());
      MQ_READ(max, rec.read_u32(1, limits::kMaxDlqPage));
      return Message(DlqList{request_id, after, max});
    }
    case MessageType::dlq_list_result: return decode_dlq_list_result(r, rec);
    case MessageType::dlq_modify: return decode_dlq_modify(r, rec);
    case MessageType::dlq_done: {
      MQ_READ(request_id, rec.read_u64());
      MQ_READ(count, rec.read_u64());
      return Message(DlqDone{request_id, count});
    }
    case MessageType::bye: return Message(Bye{});
  }
  return MqError::unknown_message_type;
}

void write_headers(MsgpackWriter& w, const Headers& h) {
  if (h.encoded.empty()) {
    w.map(0);
  } else {
    w.raw(h.encoded);
  }
}

void write_key(MsgpackWriter& w, const PublicKey& key) {
  w.bin(std::span<const std::uint8_t>(key.data(), key.size()));
}

}  // namespace

Result<std::string_view> read_command_field(MsgpackRecord& rec) {
  MQ_READ(command, rec.read_str(limits::kMaxCommandName));
  if (!valid_command(command)) return MqError::bad_command;
  return command;
}

Result<PublicKey> read_key_field(MsgpackRecord& rec) {
  MQ_READ(bytes, rec.read_bin(kPublicKeySize));
  if (bytes.size() != kPublicKeySize) return MqError::bad_key;
  PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

// A headers map read in place: its bytes are kept encoded, as a view into `input`.
Result<Headers> read_headers_field(MsgpackReader& r, MsgpackRecord& rec, Bytes input) {
  const std::size_t start = r.offset();
  MQ_READ(count, rec.map(0, static_cast<std::uint32_t>(limits::kMaxHeaders)));
  for (std::uint32_t i = 0; i < count; ++i) {
    MQ_READ(name, r.read_str(limits::kMaxHeaderName));
    MQ_READ(value, r.read_str(limits::kMaxHeaderValue));
    (void)name;
    (void)value;
  }
  return Headers{input.subspan(start, r.offset() - start), count};
}

bool valid_command(std::string_view command) noexcept {
  if (command.size() > limits::kMaxCommandName) return false;
  return std::all_of(command.begin(), command.end(), [](char c) {
    return c >= '!' && c <= '~' && c != '*';
  });
}

Result<Headers> Headers::parse(std::span<const std::uint8_t> encoded) {
  if (encoded.empty()) return Headers{};
  wire::MsgpackLimits l;
  l.max_input = limits::kMaxPayload;
  MQ_READ(r, MsgpackReader::open(encoded, l));
  MQ_READ(count, r.map(0, static_cast<std::uint32_t>(limits::kMaxHeaders)));
  for (std::uint32_t i = 0; i < count; ++i) {
    MQ_READ(name, r.read_str(limits::kMaxHeaderName));
    MQ_READ(value, r.read_str(limits::kMaxHeaderValue));
    (void)name;
    (void)value;
  }
  return Headers{encoded, count};
}

std::optional<std::string_view> Headers::find(std::string_view name) const {
  std::optional<std::string_view> found;
  for_each([&](std::string_view n, std::string_view v) {
    if (!found && n == name) found = v;
  });
  return found;
}

void Headers::encode(std::span<const std::pair<std::string_view, std::string_view>> entries,
                     std::vector<std::uint8_t>& out) {
  MsgpackWriter w(out);
  w.map(static_cast<std::uint32_t>(entries.size()));
  for (const auto& [name, value] : entries) w.str(name).str(value);
}

Result<Message> decode(std::span<const std::uint8_t> bytes) {
  MQ_READ(r, MsgpackReader::open(bytes, message_limits()));
  MQ_READ(rec, r.record(1));
  MQ_READ(tag, rec.read_u64());
  if (tag < 1 || tag > kMaxType) return MqError::unknown_message_type;
  auto message = decode_body(static_cast<MessageType>(tag), r, rec, bytes);
  if (!message) return message.error();
  rec.finish();
  return message;
}

// ---- encoders ------------------------------------------------------------------------------
namespace {

MsgpackWriter start(std::vector<std::uint8_t>& out, MessageType type, std::uint32_t fields) {
  MsgpackWriter w(out);
  w.array(fields + 1).u64(static_cast<std::uint8_t>(type));
  return w;
}

// Upper bounds of encoded sizes, for bounded() below.
constexpr std::size_t kHeadBound = wire::kMsgpackHeaderBound + wire::kMsgpackIntBound;
constexpr std::size_t kIntBound = wire::kMsgpackIntBound;
constexpr std::size_t bytes_bound(std::size_t n) noexcept { return wire::msgpack_bytes_bound(n); }
std::size_t headers_bound(const Headers& h) noexcept {
  return h.encoded.empty() ? 1 : h.encoded.size();
}

// Encodes a message of at most `bound` bytes onto `out` with one resize of the vector: a
// writer on the vector itself made encoding a third slower.
template <class Body>
void bounded(std::vector<std::uint8_t>& out, std::size_t bound, MessageType type,
             std::uint32_t fields, const Body& body) {
  wire::append_tagged(out, bound, type, fields, body);
}

}  // namespace

void encode(const Hello& m, std::vector<std::uint8_t>& out) {
  auto w = start(out, MessageType::hello, 5);
  w.u64(m.version).u64(static_cast<std::uint8_t>(m.role)).str(m.name);
  w.array(static_cast<std::uint32_t>(m.commands.size()));
  for (std::string_view c : m.commands) w.str(c);
  w.u64(m.prefetch);
}

void encode(const HelloOk& m, std::vector<std::uint8_t>& out) {
  bounded(out, kHeadBound + kIntBound, MessageType::hello_ok, 1,
          [&](MsgpackWriter& w) { w.u64(m.version); });
}

void encode(const Refused& m, std::vector<std::uint8_t>& out) {
  start(out, MessageType::refused, 2).u64(static_cast<std::uint8_t>(m.code)).str(m.text);
}

void encode(const Publish& m, std::vector<std::uint8_t>& out) {
  const std::size_t bound = kHeadBound + 4 * kIntBound + bytes_bound(m.command.size()) +
                            headers_bound(m.headers) + bytes_bound(m.payload.size());
  bounded(out, bound, MessageType::publish, 7, [&](MsgpackWriter& w) {
    w.u64(m.id).str(m.command);
    write_headers(w, m.headers);
    w.bin(m.payload).u64(m.ttl_ms).u64(m.priority).u64(m.flags);
  });
}

void encode(const Confirm& m, std::vector<std::uint8_t>& out) {
  bounded(out, kHeadBound + kIntBound, MessageType::confirm, 1,
          [&](MsgpackWriter& w) { w.u64(m.id); });
}

void encode(const PublishNack& m, std::vector<std::uint8_t>& out) {
  start(out, MessageType::publish_nack, 3)
      .u64(m.id)
      .u64(static_cast<std::uint8_t>(m.reason))
      .str(m.text);
}

void encode(const Deliver& m, std::vector<std::uint8_t>& out) {
  const std::size_t bound = kHeadBound + 5 * kIntBound + bytes_bound(m.producer.size()) +
                            bytes_bound(m.command.size()) + headers_bound(m.headers) +
                            bytes_bound(m.payload.size());
  bounded(out, bound, MessageType::deliver, 9, [&](MsgpackWriter& w) {
    w.u64(m.tag).u64(m.message_id);
    write_key(w, m.producer);
    w.str(m.command);
    write_headers(w, m.headers);
    w.bin(m.payload).u64(m.delivery_count).u64(m.priority).u64(m.flags);
  });
}

void encode(const Answer& m, std::vector<std::uint8_t>& out) {
  bounded(out, kHeadBound + kIntBound + bytes_bound(m.payload.size()), MessageType::answer, 2,
          [&](MsgpackWriter& w) { w.u64(m.tag).bin(m.payload); });
}

void encode(const Reject& m, std::vector<std::uint8_t>& out) {
  start(out, MessageType::reject, 3).u64(m.tag).boolean(m.requeue).str(m.reason);
}

void encode(const AnswerToProducer& m, std::vector<std::uint8_t>& out) {
  const std::size_t bound =
      kHeadBound + 2 * kIntBound + bytes_bound(m.payload.size()) + bytes_bound(m.reason.size());
  bounded(out, bound, MessageType::answer_to_producer, 4, [&](MsgpackWriter& w) {
    w.u64(m.message_id).u64(static_cast<std::uint8_t>(m.status)).bin(m.payload).str(m.reason);
  });
}

void encode(const AnswerReceived& m, std::vector<std::uint8_t>& out) {
  bounded(out, kHeadBound + kIntBound, MessageType::answer_received, 1,
          [&](MsgpackWriter& w) { w.u64(m.message_id); });
}

void encode(const Bye&, std::vector<std::uint8_t>& out) {
  bounded(out, kHeadBound, MessageType::bye, 0, [](MsgpackWriter&) {});
}

void encode(const Credit& m, std::vector<std::uint8_t>& out) {
  start(out, MessageType::credit, 1).u64(m.prefetch);
}

void encode(const DlqList& m, std::vector<std::uint8_t>& out) {
  start(out, MessageType::dlq_list, 3).u64(m.request_id).u64(m.after).u64(m.max);
}

void encode(const DlqListResult& m, std::vector<std::uint8_t>& out) {
  auto w = start(out, MessageType::dlq_list_result, 4);
  w.u64(m.request_id).u64(m.next).u64(m.total);
  w.array(static_cast<std::uint32_t>(m.entries.size()));
  for (const DlqEntry& e : m.entries) {
    w.array(7).u64(e.uid).u64(e.message_id);
    write_key(w, e.producer);
    w.str(e.command).u64(e.deliveries).u64(static_cast<std::uint8_t>(e.reason)).u64(e.size);
  }
}

void encode(const DlqModify& m, std::vector<std::uint8_t>& out) {
  auto w = start(out, MessageType::dlq_modify, 4);
  w.u64(m.request_id).u64(static_cast<std::uint8_t>(m.action)).boolean(m.all);
  w.array(static_cast<std::uint32_t>(m.uids.size()));
  for (std::uint64_t uid : m.uids) w.u64(uid);
}

void encode(const DlqDone& m, std::vector<std::uint8_t>& out) {
  start(out, MessageType::dlq_done, 2).u64(m.request_id).u64(m.count);
}

void encode(const Message& m, std::vector<std::uint8_t>& out) {
  std::visit([&](const auto& v) { encode(v, out); }, m);
}

}  // namespace peermq::mq
