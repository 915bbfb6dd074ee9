#include "sim/queue_checker.hpp"

#include <algorithm>
#include <string_view>

namespace peermq::sim {

namespace {

std::string name_of(const PublicKey& producer, std::uint64_t id) {
  return "message " + std::to_string(id) + " of " + Address(producer).to_string().substr(0, 8);
}

}  // namespace

QueueChecker::Bytes QueueChecker::expected_answer(std::span<const std::uint8_t> payload) {
  static constexpr std::string_view kPrefix = "re:";
  Bytes out;
  out.reserve(kPrefix.size() + payload.size());
  for (char c : kPrefix) out.push_back(static_cast<std::uint8_t>(c));
  for (std::uint8_t b : payload) out.push_back(b);  // (g++ 12 -O3 misreads std::copy here)
  return out;
}

void QueueChecker::violation(std::string what) {
  if (violations_.size() < 20) violations_.push_back(std::move(what));
}

void QueueChecker::on_published(const PublicKey& producer, std::uint64_t id,
                                std::span<const std::uint8_t> payload) {
  auto [it, fresh] = messages_.try_emplace(Key{producer, id});
  if (!fresh) return violation(name_of(producer, id) + ": the producer used its id twice");
  it->second.payload.assign(payload.begin(), payload.end());
}

void QueueChecker::on_confirmed(const PublicKey& producer, std::uint64_t id) {
  auto it = messages_.find(Key{producer, id});
  if (it == messages_.end()) return violation(name_of(producer, id) + ": confirmed, never published");
  if (!it->second.confirmed) ++confirmed_;
  it->second.confirmed = true;
}

void QueueChecker::on_processed(const PublicKey& producer, std::uint64_t id) {
  ++processed_;
  auto it = messages_.find(Key{producer, id});
  if (it == messages_.end()) return violation(name_of(producer, id) + ": delivered, never published");
  ++it->second.processed;
}

void QueueChecker::on_answer(const PublicKey& producer, std::uint64_t id, bool answered,
                             std::span<const std::uint8_t> payload) {
  auto it = messages_.find(Key{producer, id});
  if (it == messages_.end()) return violation(name_of(producer, id) + ": an answer for it, never published");
  Message& m = it->second;
  if (++m.answers > 1) violation(name_of(producer, id) + ": answered " + std::to_string(m.answers) + " times");
  if (m.answers == 1) ++answered_;
  if (!answered) return violation(name_of(producer, id) + ": not answered but dead-lettered, rejected or expired");
  const Bytes want = expected_answer(m.payload);
  if (!std::equal(payload.begin(), payload.end(), want.begin(), want.end())) {
    violation(name_of(producer, id) + ": its answer is not the one computed for its payload");
  }
  if (m.processed == 0) violation(name_of(producer, id) + ": answered, but no consumer processed it");
}

void QueueChecker::judge(Verdict& v) const {
  for (const std::string& what : violations_) v.fail("queue: " + what);
}

void QueueChecker::judge_complete(Verdict& v) const {
  judge(v);
  std::size_t lost = 0;
  std::string first;
  for (const auto& [key, m] : messages_) {
    if (m.confirmed && m.answers == 0) {
      if (lost++ == 0) first = name_of(key.first, key.second);
    }
  }
  if (lost > 0) {
    v.fail("queue: " + std::to_string(lost) + " confirmed messages never answered (first: " +
           first + ")");
  }
}

std::string QueueChecker::summary() const {
  return std::to_string(messages_.size()) + " published, " + std::to_string(confirmed_) +
         " confirmed, " + std::to_string(answered_) + " answered, " + std::to_string(processed_) +
         " deliveries processed";
}

}  // namespace peermq::sim
