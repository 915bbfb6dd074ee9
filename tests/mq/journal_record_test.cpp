#include "mq/journal_record.hpp"

#include <doctest/doctest.h>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"
#include "wire/msgpack_writer.hpp"
#include "wire/wire_error.hpp"

using namespace mqtest;

namespace {

template <class T>
T round_trip(const T& r, Bytes& storage) {
  storage.clear();
  encode_record(r, storage);
  auto decoded = decode_record(storage);
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<T>(*decoded));
  return std::get<T>(*decoded);
}

}  // namespace

TEST_CASE("every journal record survives an encode/decode round trip") {
  Bytes s;
  Bytes headers;
  Headers::encode(std::vector<std::pair<std::string_view, std::string_view>>{{"k", "v"}},
                  headers);
  const Bytes payload = bytes("body");

  const StoredRecord stored = round_trip(
      StoredRecord{12, key(1), 99, "jobs", *Headers::parse(headers), payload,
                   1767225600123, 3, kFlagNoAnswer, 4,
                   static_cast<std::uint8_t>(DeadLetterReason::rejected)},
      s);
  CHECK(stored.prev_uid == 12);
  CHECK(stored.producer == key(1));
  CHECK(stored.message_id == 99);
  CHECK(stored.command == "jobs");
  CHECK(stored.headers.find("k") == std::optional<std::string_view>("v"));
  CHECK(text(stored.payload) == "body");
  CHECK(stored.expires_ms == 1767225600123);
  CHECK(stored.priority == 3);
  CHECK(stored.flags == kFlagNoAnswer);
  CHECK(stored.deliveries == 4);
  CHECK(stored.dead_letter == 1);

  CHECK(round_trip(AckedRecord{5}, s).uid == 5);
  const AnsweredRecord answered = round_trip(
      AnsweredRecord{5, 6, key(2), 77, AnswerStatus::rejected, payload, "why", -1}, s);
  CHECK(answered.acked_uid == 5);
  CHECK(answered.prev_uid == 6);
  CHECK(answered.producer == key(2));
  CHECK(answered.status == AnswerStatus::rejected);
  CHECK(answered.reason == "why");
  CHECK(answered.expires_ms == -1);
  CHECK(round_trip(AnswerDoneRecord{8}, s).uid == 8);
  const DeadLetteredRecord dl =
      round_trip(DeadLetteredRecord{9, DeadLetterReason::max_deliveries}, s);
  CHECK(dl.reason == DeadLetterReason::max_deliveries);
  CHECK(round_trip(RequeuedRecord{10}, s).uid == 10);
}

TEST_CASE("journal record decoder rejects corrupt bodies with typed errors") {
  using peermq::wire::MsgpackWriter;
  using peermq::wire::WireError;
  auto arr = [](std::initializer_list<std::uint64_t> fields) {
    Bytes out;
    MsgpackWriter w(out);
    w.array(static_cast<std::uint32_t>(fields.size()));
    for (std::uint64_t f : fields) w.u64(f);
    return out;
  };
  auto error_of = [](const Bytes& body) { return decode_record(body).error(); };
  CHECK(error_of(arr({0})) == MqError::unknown_record_type);
  CHECK(error_of(arr({7, 1})) == MqError::unknown_record_type);
  CHECK(error_of(arr({2})) == WireError::missing_field);
  CHECK(error_of(arr({5, 1, 3})) == WireError::out_of_range);
  const Bytes junk = {0xc1};
  CHECK(decode_record(junk).error() == WireError::malformed);
}
