// CounterRegistry: how the library's components register their metrics in a node's
// Counters (include/peermq/counters.hpp, which offers reading only).
//
// A component registers once, keeps the returned references, and bumps them on its hot
// path:
//
//   CounterRegistry registry(counters);
//   Counter& dropped = registry.counter("udp_short_total", "Datagrams too short to parse.");
//   ...
//   dropped.inc();
//
// References stay valid for the Counters' lifetime (entries never move). Registering a
// name again returns the same metric, so components may share one; registering it with
// the other kind, or with a name Prometheus would reject, is a programmer error and
// throws std::invalid_argument.
//
// A registry is a view: cheap to copy, it holds a reference to the Counters, which must
// outlive it. Threads: the Counters' (one).
#pragma once

#include <string_view>

#include <peermq/counters.hpp>

namespace peermq {

class CounterRegistry {
 public:
  // Implicit: a component that registers takes a CounterRegistry, and callers hand it the
  // node's Counters.
  CounterRegistry(Counters& counters) noexcept : counters_(&counters) {}  // NOLINT

  // `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*; `help` is one line for humans.
  Counter& counter(std::string_view name, std::string_view help) const;
  Gauge& gauge(std::string_view name, std::string_view help) const;

  static bool valid_name(std::string_view name) noexcept;

 private:
  Counters::Entry& find_or_add(std::string_view name, std::string_view help,
                               std::size_t kind) const;

  Counters* counters_;
};

}  // namespace peermq
