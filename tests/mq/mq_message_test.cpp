#include "mq/mq_message.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"
#include "wire/msgpack_writer.hpp"
#include "wire/wire_error.hpp"

using namespace mqtest;
using peermq::wire::MsgpackWriter;
using peermq::wire::WireError;

namespace {

template <class T>
T round_trip(const T& m, Bytes& storage) {
  storage.clear();
  encode(m, storage);
  auto decoded = decode(storage);
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<T>(*decoded));
  return std::get<T>(*decoded);
}

Bytes encoded_headers(std::vector<std::pair<std::string_view, std::string_view>> entries) {
  Bytes out;
  Headers::encode(entries, out);
  return out;
}

// A publish written field by field, so tests can put wrong values where encode() would not.
Bytes raw_publish(std::uint64_t id, std::string_view command, std::uint64_t ttl,
                  std::uint64_t priority, std::uint64_t flags, std::size_t payload = 1) {
  Bytes out;
  MsgpackWriter w(out);
  const Bytes body(payload, 'x');
  w.array(8).u64(4).u64(id).str(command).map(0).bin(body).u64(ttl).u64(priority).u64(flags);
  return out;
}

}  // namespace

TEST_CASE("every queue message survives an encode/decode round trip") {
  Bytes s;
  const Bytes payload = bytes("payload");
  const Bytes headers = encoded_headers({{"trace", "abc"}, {"lang", "en"}});
  const Headers h = *Headers::parse(headers);

  const Hello hello = round_trip(Hello{1, Role::consumer, "worker-1", {"a", "b.c", ""}, 7}, s);
  CHECK(hello.role == Role::consumer);
  CHECK(hello.name == "worker-1");
  CHECK(hello.commands == std::vector<std::string_view>{"a", "b.c", ""});
  CHECK(hello.prefetch == 7);

  CHECK(round_trip(HelloOk{3}, s).version == 3);
  const Refused refused = round_trip(Refused{RefuseCode::not_allowed, "no"}, s);
  CHECK(refused.code == RefuseCode::not_allowed);
  CHECK(refused.text == "no");

  const Publish publish = round_trip(Publish{~std::uint64_t{0}, "users.get", h, payload, 1500,
                                             limits::kMaxPriority, kFlagNoAnswer},
                                     s);
  CHECK(publish.id == ~std::uint64_t{0});
  CHECK(publish.command == "users.get");
  CHECK(publish.headers.count == 2);
  CHECK(publish.headers.find("lang") == std::optional<std::string_view>("en"));
  CHECK(text(publish.payload) == "payload");
  CHECK(publish.ttl_ms == 1500);
  CHECK(publish.priority == limits::kMaxPriority);
  CHECK(publish.flags == kFlagNoAnswer);

  CHECK(round_trip(Confirm{9}, s).id == 9);
  const PublishNack nack = round_trip(PublishNack{9, NackReason::too_large, "big"}, s);
  CHECK(nack.reason == NackReason::too_large);
  CHECK(nack.text == "big");

  const Deliver deliver =
      round_trip(Deliver{1ull << 40, 5, key(3), "jobs", h, payload, 2, 4, 0}, s);
  CHECK(deliver.tag == 1ull << 40);
  CHECK(deliver.message_id == 5);
  CHECK(deliver.producer == key(3));
  CHECK(deliver.command == "jobs");
  CHECK(deliver.headers.find("trace") == std::optional<std::string_view>("abc"));
  CHECK(deliver.delivery_count == 2);
  CHECK(deliver.priority == 4);

  CHECK(text(round_trip(Answer{8, payload}, s).payload) == "payload");
  const Reject reject = round_trip(Reject{8, false, "bad"}, s);
  CHECK_FALSE(reject.requeue);
  CHECK(reject.reason == "bad");
  const AnswerToProducer atp =
      round_trip(AnswerToProducer{5, AnswerStatus::expired, payload, "late"}, s);
  CHECK(atp.status == AnswerStatus::expired);
  CHECK(atp.reason == "late");
  CHECK(round_trip(AnswerReceived{5}, s).message_id == 5);
  CHECK(round_trip(Credit{0}, s).prefetch == 0);
  const DlqList list = round_trip(DlqList{1, 2, 3}, s);
  CHECK((list.request_id == 1 && list.after == 2 && list.max == 3));

  DlqListResult result{4, 99, 1000, {}};
  result.entries.push_back(DlqEntry{17, 5, key(2), "jobs", 5, DeadLetterReason::max_deliveries, 12});
  const DlqListResult r2 = round_trip(result, s);
  CHECK(r2.next == 99);
  CHECK(r2.total == 1000);
  REQUIRE(r2.entries.size() == 1);
  CHECK(r2.entries[0].uid == 17);
  CHECK(r2.entries[0].producer == key(2));
  CHECK(r2.entries[0].reason == DeadLetterReason::max_deliveries);
  CHECK(r2.entries[0].size == 12);

  const DlqModify modify = round_trip(DlqModify{6, DlqAction::purge, false, {1, 2, 3}}, s);
  CHECK(modify.action == DlqAction::purge);
  CHECK(modify.uids == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(round_trip(DlqDone{6, 3}, s).count == 3);
  (void)round_trip(Bye{}, s);
  CHECK(s == Bytes{0x91, 0x11});  // [17]: a type and nothing else
}

TEST_CASE("type_of names each message by its tag") {
  Bytes s;
  encode(Message(Credit{1}), s);
  auto m = decode(s);
  REQUIRE(m);
  CHECK(type_of(*m) == MessageType::credit);
  CHECK(s[1] == static_cast<std::uint8_t>(MessageType::credit));
}

TEST_CASE("a newer peer's extra trailing fields are skipped") {
  Bytes out;
  MsgpackWriter w(out);
  w.array(3).u64(5).u64(77).str("a field from the future");
  auto m = decode(out);
  REQUIRE(m);
  CHECK(std::get<Confirm>(*m).id == 77);
}

TEST_CASE("queue message decoder rejects bad input with typed errors") {
  struct Case {
    const char* what;
    Bytes input;
    std::error_code error;
  };
  auto arr = [](std::initializer_list<std::uint64_t> fields) {
    Bytes out;
    MsgpackWriter w(out);
    w.array(static_cast<std::uint32_t>(fields.size()));
    for (std::uint64_t f : fields) w.u64(f);
    return out;
  };
  const std::vector<Case> cases = {
      /* 1 */ {"empty", {}, WireError::truncated},
      /* 2 */ {"not an array", {0x05}, WireError::wrong_type},
      /* 3 */ {"empty array", {0x90}, WireError::missing_field},
      /* 4 */ {"type 0", arr({0}), MqError::unknown_message_type},
      /* 5 */ {"type 18", arr({18}), MqError::unknown_message_type},
      /* 6 */ {"confirm without id", arr({5}), WireError::missing_field},
      /* 7 */ {"refused code 0", {0x93, 0x03, 0x00, 0xa0}, MqError::bad_enum},
      /* 8 */ {"nack reason 4", {0x94, 0x06, 0x01, 0x04, 0xa0}, MqError::bad_enum},
      /* 9 */ {"priority 10", raw_publish(1, "a", 0, 10, 0), WireError::out_of_range},
      /* 10 */ {"unknown flag", raw_publish(1, "a", 0, 0, 2), MqError::bad_enum},
      /* 11 */ {"ttl over a month", raw_publish(1, "a", 31ull * 86400 * 1000, 0, 0),
                WireError::out_of_range},
      /* 12 */ {"wildcard command", raw_publish(1, "a*", 0, 0, 0), MqError::bad_command},
      /* 13 */ {"space in command", raw_publish(1, "a b", 0, 0, 0), MqError::bad_command},
      /* 14 */ {"command too long", raw_publish(1, std::string(65, 'c'), 0, 0, 0),
                WireError::too_long},
      /* 15 */ {"credit over max", arr({12, limits::kMaxPrefetch + 1ull}),
                WireError::out_of_range},
      /* 16 */ {"dlq_list max 0", arr({13, 1, 0, 0}), WireError::out_of_range},
      /* 17 */ {"trailing bytes", {0x92, 0x05, 0x01, 0x00}, WireError::trailing_bytes},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    auto m = decode(c.input);
    REQUIRE_FALSE(m);
    CHECK(m.error() == c.error);
  }
}

TEST_CASE("a deliver whose producer key is not 32 bytes is rejected") {
  Bytes out;
  MsgpackWriter w(out);
  const Bytes short_key(31, 1);
  w.array(10).u64(7).u64(1).u64(1).bin(short_key).str("a").map(0).bin(short_key).u64(1).u64(0).u64(0);
  CHECK(decode(out).error() == MqError::bad_key);
}

TEST_CASE("headers are limited in number and length") {
  std::vector<std::pair<std::string_view, std::string_view>> many(limits::kMaxHeaders + 1,
                                                                  {"k", "v"});
  CHECK(Headers::parse(encoded_headers(many)).error() == WireError::too_many_entries);
  const std::string long_name(limits::kMaxHeaderName + 1, 'n');
  CHECK(Headers::parse(encoded_headers({{long_name, "v"}})).error() == WireError::too_long);
  const std::string long_value(limits::kMaxHeaderValue + 1, 'v');
  CHECK(Headers::parse(encoded_headers({{"k", long_value}})).error() == WireError::too_long);
  const Bytes not_a_map = {0x91, 0x01};
  CHECK(Headers::parse(not_a_map).error() == WireError::wrong_type);
  CHECK(Headers::parse({}).value().count == 0);
}

TEST_CASE("headers iterate in order and find the first match") {
  const Bytes encoded = encoded_headers({{"a", "1"}, {"b", "2"}, {"a", "3"}});
  const Headers h = *Headers::parse(encoded);
  std::string seen;
  h.for_each([&](std::string_view n, std::string_view v) {
    seen += std::string(n) + "=" + std::string(v) + ";";
  });
  CHECK(seen == "a=1;b=2;a=3;");
  CHECK(h.find("a") == std::optional<std::string_view>("1"));
  CHECK_FALSE(h.find("z"));
}

TEST_CASE("payload plus headers over max_payload is rejected as too large") {
  Bytes out;
  MsgpackWriter w(out);
  const Bytes headers = encoded_headers({{"k", "v"}});
  const Bytes body(limits::kMaxPayload, 'x');
  w.array(8).u64(4).u64(1).str("a").raw(headers).bin(body).u64(0).u64(0).u64(0);
  CHECK(decode(out).error() == MqError::too_large);
}

TEST_CASE("command names are printable ASCII without the wildcard") {
  CHECK(valid_command(""));
  CHECK(valid_command("users.get"));
  CHECK(valid_command("num_users"));
  CHECK(valid_command(std::string(limits::kMaxCommandName, 'x')));
  CHECK_FALSE(valid_command(std::string(limits::kMaxCommandName + 1, 'x')));
  CHECK_FALSE(valid_command("users.*"));
  CHECK_FALSE(valid_command("a b"));
  CHECK_FALSE(valid_command("tab\t"));
  CHECK_FALSE(valid_command("caf\xc3\xa9"));
}
