#include "metrics/counter_registry.hpp"

#include <stdexcept>
#include <string>

namespace peermq {

namespace {

constexpr std::size_t kCounter = 0;
constexpr std::size_t kGauge = 1;

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

}  // namespace

bool CounterRegistry::valid_name(std::string_view name) noexcept {
  if (name.empty() || !name_start(name.front())) return false;
  for (char c : name.substr(1))
    if (!name_start(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

Counters::Entry& CounterRegistry::find_or_add(std::string_view name, std::string_view help,
                                              std::size_t kind) const {
  if (!valid_name(name))
    throw std::invalid_argument("counter name \"" + std::string(name) +
                                "\" is invalid: use letters, digits, '_' and ':', not starting "
                                "with a digit");
  Counters& c = *counters_;
  if (auto it = c.index_.find(name); it != c.index_.end()) {
    Counters::Entry& entry = c.entries_[it->second];
    if (entry.metric.index() != kind)
      throw std::invalid_argument("metric \"" + std::string(name) +
                                  "\" is already registered as a " +
                                  (kind == kCounter ? "gauge" : "counter"));
    return entry;
  }
  Counters::Entry& entry =
      c.entries_.emplace_back(Counters::Entry{std::string(name), std::string(help), {}});
  if (kind == kGauge) entry.metric.emplace<Gauge>();
  c.index_.emplace(entry.name, c.entries_.size() - 1);
  return entry;
}

Counter& CounterRegistry::counter(std::string_view name, std::string_view help) const {
  return std::get<Counter>(find_or_add(name, help, kCounter).metric);
}

Gauge& CounterRegistry::gauge(std::string_view name, std::string_view help) const {
  return std::get<Gauge>(find_or_add(name, help, kGauge).metric);
}

}  // namespace peermq
