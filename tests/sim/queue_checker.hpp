// QueueChecker: judges the queue of a simulated run from what producers and consumers saw,
// never from the broker's own word (TigerBeetle's state checker: the simulator injects,
// the checkers judge).
//
// Invariants, after every run (judge):
//   1. an answer reaches only the producer that published the message, for an id it
//      published, with the payload a consumer computed for that very message
//      (expected_answer(payload)): nothing misrouted, corrupted or invented;
//   2. a producer gets at most one answer per message, across its restarts too (once it
//      has received an answer it says answer_received; the broker must not send it
//      again);
//   3. a message is processed by a consumer only after it was published;
// and when the scenario lets the run settle (judge_complete):
//   4. every message a producer saw confirmed was answered: nothing confirmed is lost, not
//      by broker crashes (the simulated disk drops what was not synced), consumer crashes
//      or lost connections.
// Deliveries may repeat (at least once: a consumer that crashed mid-message, a delivery
// whose answer was lost); they are counted, not failures.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <peermq/address.hpp>

#include "sim/verdict.hpp"

namespace peermq::sim {

class QueueChecker {
 public:
  using Bytes = std::vector<std::uint8_t>;
  // What every simulated consumer answers: "re:" + the payload.
  static Bytes expected_answer(std::span<const std::uint8_t> payload);

  void on_published(const PublicKey& producer, std::uint64_t id, std::span<const std::uint8_t> payload);
  void on_confirmed(const PublicKey& producer, std::uint64_t id);
  void on_processed(const PublicKey& producer, std::uint64_t id);
  void on_answer(const PublicKey& producer, std::uint64_t id, bool answered,
                 std::span<const std::uint8_t> payload);

  void judge(Verdict& v) const;
  void judge_complete(Verdict& v) const;
  // Every published message has been answered.
  bool complete() const noexcept { return answered_ == messages_.size(); }

  std::uint64_t published() const noexcept { return messages_.size(); }
  std::uint64_t confirmed() const noexcept { return confirmed_; }
  std::uint64_t answered() const noexcept { return answered_; }
  std::uint64_t processed() const noexcept { return processed_; }
  std::string summary() const;

 private:
  struct Message {
    Bytes payload;
    bool confirmed = false;
    std::uint32_t answers = 0;
    std::uint32_t processed = 0;
  };
  using Key = std::pair<PublicKey, std::uint64_t>;
  void violation(std::string what);

  std::map<Key, Message> messages_;
  std::uint64_t confirmed_ = 0;
  std::uint64_t answered_ = 0;
  std::uint64_t processed_ = 0;
  std::vector<std::string> violations_;
};

}  // namespace peermq::sim
