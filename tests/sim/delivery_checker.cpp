#include "sim/delivery_checker.hpp"

#include <algorithm>
#include <stdexcept>

namespace peermq::sim {

namespace {

constexpr std::uint8_t kMagic[4] = {'p', 'm', 'q', 'S'};
constexpr std::size_t kMaxViolationsKept = 20;

void put(std::vector<std::uint8_t>& out, std::size_t at, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get(std::span<const std::uint8_t> in, std::size_t at, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= std::uint64_t{in[at + i]} << (8 * i);
  return v;
}

std::uint8_t body_byte(std::uint64_t stream, std::uint64_t seq, std::size_t j) {
  const std::uint64_t x = (stream * 0x9e3779b97f4a7c15ULL) ^ (seq * 0xbf58476d1ce4e5b9ULL) ^ j;
  return static_cast<std::uint8_t>(x ^ (x >> 29) ^ (x >> 47));
}

}  // namespace

DeliveryChecker::StreamId DeliveryChecker::open(const PublicKey& from, const PublicKey& to,
                                                std::string label) {
  Stream s;
  s.from = from;
  s.to = to;
  s.label = std::move(label);
  streams_.push_back(std::move(s));
  return static_cast<StreamId>(streams_.size() - 1);
}

std::vector<std::uint8_t> DeliveryChecker::message(StreamId stream, std::uint64_t seq,
                                                   std::size_t size) const {
  if (size < kHeaderSize || size > UINT32_MAX) {
    throw std::invalid_argument("DeliveryChecker: a message needs room for its header");
  }
  std::vector<std::uint8_t> m(size);
  std::copy(std::begin(kMagic), std::end(kMagic), m.begin());
  put(m, 4, stream, 4);
  put(m, 8, seq, 8);
  put(m, 16, size, 4);
  for (std::size_t j = kHeaderSize; j < size; ++j) m[j] = body_byte(stream, seq, j);
  return m;
}

void DeliveryChecker::on_sent(StreamId stream, std::uint64_t seq) {
  Stream& s = streams_.at(stream);
  if (seq != s.sent) {
    throw std::logic_error("DeliveryChecker: stream " + s.label + " sent out of sequence");
  }
  ++s.sent;
}

void DeliveryChecker::excuse_losses(StreamId stream) {
  Stream& s = streams_.at(stream);
  s.excused_below = s.sent;
}

void DeliveryChecker::violation(std::string what) {
  ++violation_count_;
  if (violations_.size() < kMaxViolationsKept) violations_.push_back(std::move(what));
}

void DeliveryChecker::on_delivered(const PublicKey& receiver, const PublicKey& from,
                                   std::span<const std::uint8_t> bytes) {
  ++delivered_total_;
  if (bytes.size() < kHeaderSize || !std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin())) {
    violation("a message no stream sent was delivered (" + std::to_string(bytes.size()) + " bytes)");
    return;
  }
  const auto id = static_cast<StreamId>(get(bytes, 4, 4));
  const std::uint64_t seq = get(bytes, 8, 8);
  const std::size_t size = static_cast<std::size_t>(get(bytes, 16, 4));
  if (id >= streams_.size()) {
    violation("a message of unknown stream " + std::to_string(id) + " was delivered");
    return;
  }
  Stream& s = streams_[id];
  const std::string where = s.label + " #" + std::to_string(seq);
  if (receiver != s.to || from != s.from) {
    violation(where + ": delivered to the wrong node or from the wrong sender");
    return;
  }
  bool intact = size == bytes.size();
  for (std::size_t j = kHeaderSize; intact && j < bytes.size(); ++j) {
    intact = bytes[j] == body_byte(id, seq, j);
  }
  if (!intact) {
    violation(where + ": delivered corrupted or truncated");
    return;
  }
  if (seq >= s.sent) {
    violation(where + ": delivered but never sent");
    return;
  }
  if (seq < s.next) {
    violation(where + ": delivered twice, or after a later message");
    return;
  }
  if (seq > s.next && seq > s.excused_below) {
    violation(where + ": delivered while #" + std::to_string(s.next) +
              " (not excused) had not been");
    s.skipped += seq - std::max(s.next, s.excused_below);
  }
  s.next = seq + 1;
  ++s.delivered;
}

void DeliveryChecker::judge(Verdict& v) const {
  for (const std::string& what : violations_) v.fail("delivery: " + what);
  if (violation_count_ > violations_.size()) {
    v.fail("delivery: " + std::to_string(violation_count_ - violations_.size()) +
           " more violations");
  }
}

bool DeliveryChecker::complete() const {
  return std::all_of(streams_.begin(), streams_.end(), [](const Stream& s) {
    return s.skipped == 0 && (s.next >= s.sent || s.sent <= s.excused_below);
  });
}

void DeliveryChecker::judge_complete(Verdict& v) const {
  for (const Stream& s : streams_) {
    if (s.skipped != 0) {
      v.fail("delivery: " + s.label + ": " + std::to_string(s.skipped) + " messages never arrived");
    }
    if (s.next >= s.sent || s.sent <= s.excused_below) continue;
    v.fail("delivery: " + s.label + ": " + std::to_string(s.sent) + " sent, " +
           std::to_string(s.delivered) + " delivered, #" + std::to_string(s.next) +
           " and later still missing");
  }
}

}  // namespace peermq::sim
