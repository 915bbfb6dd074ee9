// Counters: what a node has done, for `-stat` and for Prometheus.
//
// Every Broker, Consumer, Producer and Relay has one (its counters()): packets, bytes,
// sessions, drops by reason, messages stored and delivered... Read them by name, iterate
// over them in the order the library registered them, or print them all:
//
//   std::printf("%s", broker.counters().to_text());        // "name value" lines
//   serve(broker.counters().to_prometheus());             // text exposition format
//   broker.counters().counter_value("mq_published_total");
//
// Only the library registers metrics (its components keep references and bump them on
// their hot paths); this header offers reading only. Entries never move or disappear, so a
// reference from entries() or find() stays valid for the registry's lifetime.
//
// Threads: none of this is atomic. A node's counters change on its loop's thread: read them
// there (a timer or a posted task), never from another thread while the loop runs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace peermq {

// Only goes up (Prometheus resets are process restarts). Named `..._total`.
class Counter {
 public:
  void inc() noexcept { ++value_; }
  void add(std::uint64_t n) noexcept { value_ += n; }
  std::uint64_t value() const noexcept { return value_; }

 private:
  std::uint64_t value_ = 0;
};

// A level that goes up and down: sessions open, queue depth, bytes buffered.
class Gauge {
 public:
  void set(std::int64_t v) noexcept { value_ = v; }
  void add(std::int64_t n) noexcept { value_ += n; }
  void sub(std::int64_t n) noexcept { value_ -= n; }
  std::int64_t value() const noexcept { return value_; }

 private:
  std::int64_t value_ = 0;
};

class Counters {
 public:
  // Exported names get this prefix: "sessions_open" is served as "peermq_sessions_open".
  static constexpr std::string_view kPrefix = "peermq_";

  Counters() = default;
  Counters(const Counters&) = delete;  // references handed out point into this object
  Counters& operator=(const Counters&) = delete;

  struct Entry {
    std::string name;  // without kPrefix
    std::string help;
    std::variant<Counter, Gauge> metric;
  };
  // Registration order.
  const std::deque<Entry>& entries() const noexcept { return entries_; }
  // The metric named `name` (without kPrefix), or null.
  const Entry* find(std::string_view name) const noexcept;
  // The value of the counter `name`; 0 when there is no counter of that name (nothing
  // registered it yet, so nothing was counted).
  std::uint64_t counter_value(std::string_view name) const noexcept;
  // The value of the gauge `name`; 0 when there is no gauge of that name.
  std::int64_t gauge_value(std::string_view name) const noexcept;

  // One "name value" line per metric, in registration order, values aligned.
  std::string to_text() const;
  // Prometheus text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4).
  std::string to_prometheus() const;

 private:
  friend class CounterRegistry;  // the library's own: how its components register

  std::deque<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace peermq
