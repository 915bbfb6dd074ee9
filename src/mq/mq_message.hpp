// The queue protocol: every message between producers, consumers, admins and a broker.
//
// Carried whole by a reliable, ordered, encrypted channel per peer (one msgpack message
// per channel message: no framing, fragmentation or retransmission here). The peer's
// identity is the channel's authenticated Ed25519 key, never a field of these messages,
// so a producer cannot pose as a consumer or as another producer. Each message is a
// msgpack array [type, fields...]; a newer peer may append fields, which older ones skip.
//
//  #  type               dir  fields (after the type tag)
//  1  hello              c>b  version u32, role u8 (1 producer, 2 consumer, 3 admin),
//                             name str<=max_client_name, commands [str]<=max_subscriptions
//                             (consumer: [] = messages without a command), prefetch u32
//                             1..max_prefetch (consumer; others send any valid value)
//  2  hello_ok           b>c  version u32
//  3  refused            b>c  code u8 (RefuseCode), text str<=max_reason_text
//  4  publish            p>b  id u64 (producer-chosen, unique per producer key), command str,
//                             headers {str: str}<=max_headers, payload bin, ttl_ms u64
//                             (0 = none, <= max_message_ttl), priority u8 0..max_priority,
//                             flags u8 (bit 0: no answer wanted)
//  5  confirm            b>p  id u64: the message is stored durably
//  6  publish_nack       b>p  id u64, reason u8 (NackReason), text str
//  7  deliver            b>c  tag u64, message id u64, producer key bin[32], command,
//                             headers, payload, delivery count u32 (1 = first), priority,
//                             flags
//  8  answer             c>b  tag u64, payload bin: acknowledges the delivery
//  9  reject             c>b  tag u64, requeue bool, reason str
// 10  answer_to_producer b>p  message id u64, status u8 (AnswerStatus), payload, reason str
// 11  answer_received    p>b  message id u64: the broker may forget the stored answer
// 12  credit             c>b  prefetch u32 0..max_prefetch (0 pauses deliveries)
// 13  dlq_list           a>b  request id u64, after uid u64 (0 = from the start), max u32
//                             1..max_dlq_page
// 14  dlq_list_result    b>a  request id, next uid u64 (0 = no more), total u64, entries
//                             [[uid, message id, producer key, command, deliveries u32,
//                             reason u8 (DeadLetterReason), size u32]]<=max_dlq_page
// 15  dlq_modify         a>b  request id, action u8 (1 requeue, 2 purge), all bool,
//                             uids [u64]<=max_dlq_batch
// 16  dlq_done           b>a  request id, count u64 (entries requeued or purged)
// 17  bye                c>b  (no fields) the client is leaving: the broker forgets its
//                             connection at once (a consumer's unanswered deliveries go to
//                             other consumers now, not after the session's idle timeout)
//
// Payload plus headers are at most limits::kMaxPayload bytes, so a deliver built from any
// publish fits in a channel message. Command names are 0..max_command_name characters of
// '!'..'~' without '*' (the access list's wildcard).
//
// Decoded messages are views: string_views and spans point INTO the decoded buffer and
// stay valid only as long as it does. decode() allocates only for the variable lists of
// hello, dlq_list_result and dlq_modify (rare, bounded); never for publish, deliver,
// answer or their replies. encode() appends to a caller's vector (reuse it to avoid
// allocation). Threads: free functions, no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/result.hpp>

#include "wire/limits.hpp"
#include "wire/msgpack_reader.hpp"

namespace peermq::mq {

enum class MessageType : std::uint8_t {
  hello = 1,
  hello_ok,
  refused,
  publish,
  confirm,
  publish_nack,
  deliver,
  answer,
  reject,
  answer_to_producer,
  answer_received,
  credit,
  dlq_list,
  dlq_list_result,
  dlq_modify,
  dlq_done,
  bye,
};

enum class Role : std::uint8_t { producer = 1, consumer, admin };

enum class RefuseCode : std::uint8_t {
  not_allowed = 1,  // the access list does not admit this key in this role (or command)
  bad_version,      // the client's protocol version is too old
};

enum class NackReason : std::uint8_t {
  queue_full = 1,  // slow down and publish again (ProducerCore backs off and retries)
  too_large,       // payload plus headers exceed the broker's maximum: never retry
  not_allowed,     // the access list forbids this key to publish this command: never retry
};

enum class AnswerStatus : std::uint8_t {
  answered = 0,   // a consumer answered; payload is its answer
  rejected,       // a consumer rejected it without requeue; it is in the dead-letter queue
  dead_lettered,  // delivered broker_max_deliveries times unanswered; in the dead-letter queue
  expired,        // its TTL passed before a consumer took it
};

enum class DeadLetterReason : std::uint8_t { rejected = 1, max_deliveries };

enum class DlqAction : std::uint8_t { requeue = 1, purge };

// publish/deliver flags.
inline constexpr std::uint8_t kFlagNoAnswer = 1;  // the producer wants no answer back
inline constexpr std::uint8_t kKnownFlags = kFlagNoAnswer;

// Whether `command` may name a queue: see the header comment.
bool valid_command(std::string_view command) noexcept;

// A validated msgpack map of str -> str, kept encoded: brokers store and forward it as is.
struct Headers {
  std::span<const std::uint8_t> encoded;  // one msgpack map; empty span = no headers
  std::uint32_t count = 0;

  // Calls f(name, value) for each entry, in order. The views point into `encoded`.
  template <class F>
  void for_each(F&& f) const;
  std::optional<std::string_view> find(std::string_view name) const;
  // Appends the msgpack map of `entries` to `out`; parse() validates untrusted bytes.
  static void encode(std::span<const std::pair<std::string_view, std::string_view>> entries,
                     std::vector<std::uint8_t>& out);
  // Validates that `encoded` is a headers map within the limits.
  static Result<Headers> parse(std::span<const std::uint8_t> encoded);
};

struct Hello {
  std::uint32_t version = limits::kMqProtocolVersion;
  Role role = Role::producer;
  std::string_view name;
  std::vector<std::string_view> commands;
  std::uint32_t prefetch = limits::kPrefetchDefault;
};
struct HelloOk {
  std::uint32_t version = limits::kMqProtocolVersion;
};
struct Refused {
  RefuseCode code = RefuseCode::not_allowed;
  std::string_view text;
};
struct Publish {
  std::uint64_t id = 0;
  std::string_view command;
  Headers headers;
  std::span<const std::uint8_t> payload;
  std::uint64_t ttl_ms = 0;
  std::uint8_t priority = 0;
  std::uint8_t flags = 0;
};
struct Confirm {
  std::uint64_t id = 0;
};
struct PublishNack {
  std::uint64_t id = 0;
  NackReason reason = NackReason::queue_full;
  std::string_view text;
};
struct Deliver {
  std::uint64_t tag = 0;
  std::uint64_t message_id = 0;
  PublicKey producer{};
  std::string_view command;
  Headers headers;
  std::span<const std::uint8_t> payload;
  std::uint32_t delivery_count = 1;
  std::uint8_t priority = 0;
  std::uint8_t flags = 0;
};
struct Answer {
  std::uint64_t tag = 0;
  std::span<const std::uint8_t> payload;
};
struct Reject {
  std::uint64_t tag = 0;
  bool requeue = true;
  std::string_view reason;
};
struct AnswerToProducer {
  std::uint64_t message_id = 0;
  AnswerStatus status = AnswerStatus::answered;
  std::span<const std::uint8_t> payload;
  std::string_view reason;
};
struct AnswerReceived {
  std::uint64_t message_id = 0;
};
struct Credit {
  std::uint32_t prefetch = 0;
};
struct DlqList {
  std::uint64_t request_id = 0;
  std::uint64_t after = 0;
  std::uint32_t max = limits::kMaxDlqPage;
};
struct DlqEntry {
  std::uint64_t uid = 0;  // the broker's handle for dlq_modify
  std::uint64_t message_id = 0;
  PublicKey producer{};
  std::string_view command;
  std::uint32_t deliveries = 0;
  DeadLetterReason reason = DeadLetterReason::rejected;
  std::uint32_t size = 0;  // payload plus headers bytes
};
struct DlqListResult {
  std::uint64_t request_id = 0;
  std::uint64_t next = 0;
  std::uint64_t total = 0;
  std::vector<DlqEntry> entries;
};
struct DlqModify {
  std::uint64_t request_id = 0;
  DlqAction action = DlqAction::requeue;
  bool all = false;
  std::vector<std::uint64_t> uids;
};
struct DlqDone {
  std::uint64_t request_id = 0;
  std::uint64_t count = 0;
};
struct Bye {};

// Alternatives in MessageType order, so index() + 1 is the type tag.
using Message =
    std::variant<Hello, HelloOk, Refused, Publish, Confirm, PublishNack, Deliver, Answer, Reject,
                 AnswerToProducer, AnswerReceived, Credit, DlqList, DlqListResult, DlqModify,
                 DlqDone, Bye>;

inline MessageType type_of(const Message& m) noexcept {
  return static_cast<MessageType>(m.index() + 1);
}

// Validates every field (types, lengths, ranges, enums, command names, UTF-8) and returns
// views into `bytes`; an error (MqError or wire::WireError) leaves nothing behind.
Result<Message> decode(std::span<const std::uint8_t> bytes);
Result<Message> decode(std::vector<std::uint8_t>&&) = delete;  // views would dangle

// Appends the encoding of `m` to `out`. Values outside the limits are the caller's bug:
// they encode, and the receiver's decode() rejects them.
void encode(const Message& m, std::vector<std::uint8_t>& out);
void encode(const Hello& m, std::vector<std::uint8_t>& out);
void encode(const HelloOk& m, std::vector<std::uint8_t>& out);
void encode(const Refused& m, std::vector<std::uint8_t>& out);
void encode(const Publish& m, std::vector<std::uint8_t>& out);
void encode(const Confirm& m, std::vector<std::uint8_t>& out);
void encode(const PublishNack& m, std::vector<std::uint8_t>& out);
void encode(const Deliver& m, std::vector<std::uint8_t>& out);
void encode(const Answer& m, std::vector<std::uint8_t>& out);
void encode(const Reject& m, std::vector<std::uint8_t>& out);
void encode(const AnswerToProducer& m, std::vector<std::uint8_t>& out);
void encode(const AnswerReceived& m, std::vector<std::uint8_t>& out);
void encode(const Credit& m, std::vector<std::uint8_t>& out);
void encode(const Bye& m, std::vector<std::uint8_t>& out);
void encode(const DlqList& m, std::vector<std::uint8_t>& out);
void encode(const DlqListResult& m, std::vector<std::uint8_t>& out);
void encode(const DlqModify& m, std::vector<std::uint8_t>& out);
void encode(const DlqDone& m, std::vector<std::uint8_t>& out);

// Field readers shared with the other mq decoders (journal records): each reads one field
// of `rec` and validates it as decode() does. `input` is the buffer `r` reads.
Result<Headers> read_headers_field(wire::MsgpackReader& r, wire::MsgpackRecord& rec,
                                   std::span<const std::uint8_t> input);
Result<std::string_view> read_command_field(wire::MsgpackRecord& rec);
Result<PublicKey> read_key_field(wire::MsgpackRecord& rec);

// Where a client core's encoded messages go (to its one broker). `message` is valid only
// during the call: the implementation copies it (e.g. into the channel's send buffer).
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void send(std::span<const std::uint8_t> message) = 0;

 protected:
  MessageSink() = default;
  MessageSink(const MessageSink&) = default;
  MessageSink& operator=(const MessageSink&) = default;
};

// ---- implementation of Headers::for_each -------------------------------------------------
template <class F>
void Headers::for_each(F&& f) const {
  if (count == 0) return;
  auto r = wire::MsgpackReader::open(encoded);  // validated when parsed: cannot fail
  if (!r) return;
  auto n = r->map();
  if (!n) return;
  for (std::uint32_t i = 0; i < *n; ++i) {
    auto name = r->read_str(limits::kMaxHeaderName);
    auto value = r->read_str(limits::kMaxHeaderValue);
    if (!name || !value) return;
    f(*name, *value);
  }
}

}  // namespace peermq::mq
