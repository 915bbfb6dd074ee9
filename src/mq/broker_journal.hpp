// BrokerJournal: the broker's side of its durable log — the Journal interface the runtime
// implements, the sequence numbers appended and committed, which records must outlive the
// slots they held (the live floor), and the clock that turns Instants into the Unix times
// records carry.
//
// Journal (implemented by the runtime over platform::SegmentLog):
//   append(body) -> seq   a copy of one record body (mq/journal_record.hpp), not yet
//                         durable; the runtime calls Broker::on_committed(seq) once it is
//                         (group commit: one fsync covers many records).
// append() cannot fail: a log that can no longer write (LogError::failed) must stop the
// broker process, and recovery starts again from what is on disk.
//
// Live floor: a record is needed while the slot it holds is live (MessageStore's head is
// the oldest live uid), and also while the record that ended that slot (an ack, an answer,
// a relocation) is not durable, since a crash before then would bring the slot back from
// the old record. keep_until(seq, uid) remembers the second case; commit() forgets it once
// `seq` is durable. floor() is the lowest seq still needed: the log may delete every
// segment below it. It only grows.
//
// Ownership: append() encodes into one reused buffer and hands the journal a view of it.
// The Journal outlives this object. Single-threaded.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "mq/journal_record.hpp"
#include "mq/message_store.hpp"

namespace peermq::mq {

class Journal {
 public:
  virtual ~Journal() = default;
  // Appends a copy of `body`; returns its sequence number: at least 1 and greater than
  // every one before (including those replayed). Not durable until the owner calls
  // Broker::on_committed.
  virtual std::uint64_t append(std::span<const std::uint8_t> body) = 0;

 protected:
  Journal() = default;
  Journal(const Journal&) = default;
  Journal& operator=(const Journal&) = default;
};

class BrokerJournal {
 public:
  // `now` and `wall_now` are one moment on the two clocks: records store Unix ms.
  BrokerJournal(Journal& journal, Instant now, WallTime wall_now) noexcept;
  BrokerJournal(const BrokerJournal&) = delete;
  BrokerJournal& operator=(const BrokerJournal&) = delete;

  // Encodes and appends one record (any of journal_record.hpp's types); returns its seq.
  template <class Record>
  std::uint64_t append(const Record& r) {
    record_.clear();
    encode_record(r, record_);
    const std::uint64_t seq = journal_.append(record_);
    assert(seq > last_seq_ && "journal sequence numbers must grow (and start at 1)");
    last_seq_ = seq;
    return seq;
  }
  // Recovery: record `seq` was read back from the log, so it is durable. bad_sequence if
  // it is 0 or does not grow (the store keeps slots in seq order).
  Result<void> replayed(std::uint64_t seq) noexcept;
  // Every record up to `upto` is durable.
  void commit(std::uint64_t upto) noexcept;

  std::uint64_t committed() const noexcept { return committed_; }  // highest durable seq
  std::uint64_t last_seq() const noexcept { return last_seq_; }    // highest appended
  bool durable(std::uint64_t seq) const noexcept { return seq <= committed_; }

  // The record of `uid` must stay until record `seq` is durable.
  void keep_until(std::uint64_t seq, std::uint64_t uid) { unsettled_.push_back({seq, uid}); }
  // The lowest seq still needed, given the live slots in `store`.
  std::uint64_t floor(const MessageStore& store) const noexcept;

  // Instant ticks <-> the Unix milliseconds that records carry.
  std::int64_t to_wall_ms(std::int64_t ticks) const noexcept;
  std::int64_t from_wall_ms(std::int64_t ms) const noexcept;

 private:
  struct Unsettled {
    std::uint64_t seq;  // the record that ended the slot, not yet durable
    std::uint64_t uid;  // the slot's record: kept until then
  };

  Journal& journal_;
  std::int64_t epoch_ticks_;    // an Instant ...
  std::int64_t epoch_wall_ms_;  // ... and the Unix time it was, in ms
  std::uint64_t committed_ = 0;
  std::uint64_t last_seq_ = 0;       // appended or replayed
  std::deque<Unsettled> unsettled_;  // in seq order
  std::vector<std::uint8_t> record_;
};

}  // namespace peermq::mq
