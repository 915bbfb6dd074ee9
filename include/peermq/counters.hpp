// Counters: what a node has done, for `-stat` and for Prometheus.
//
// A component registers its metrics once, keeps the returned references, and bumps them
// on its hot path:
//
//   Counter& dropped = counters.counter("udp_short_total", "Datagrams too short to parse.");
//   ...
//   dropped.inc();
//
// References stay valid for the registry's lifetime (entries never move). Registering a
// name again returns the same metric, so components may share one; registering it with
// the other kind, or with a name Prometheus would reject, is a programmer error and
// throws std::invalid_argument.
//
// Threads: none of this is atomic. A node's counters are touched only from its loop
// thread, where a plain increment is all a hot path should pay.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace peermq {

// Only goes up (Prometheus resets are process restarts). Name it `..._total`.
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

  // `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*; `help` is one line for humans.
  Counter& counter(std::string_view name, std::string_view help);
  Gauge& gauge(std::string_view name, std::string_view help);

  // One "name value" line per metric, in registration order, values aligned.
  std::string to_text() const;
  // Prometheus text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4).
  std::string to_prometheus() const;

  struct Entry {
    std::string name;  // without kPrefix
    std::string help;
    std::variant<Counter, Gauge> metric;
  };
  // Registration order.
  const std::deque<Entry>& entries() const noexcept { return entries_; }

  static bool valid_name(std::string_view name) noexcept;

 private:
  Entry& find_or_add(std::string_view name, std::string_view help, std::size_t kind);

  std::deque<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace peermq
