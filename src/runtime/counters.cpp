#include <peermq/counters.hpp>

#include <algorithm>
#include <stdexcept>

namespace peermq {

namespace {

constexpr std::size_t kCounter = 0;
constexpr std::size_t kGauge = 1;

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

std::string value_text(const Counters::Entry& entry) {
  if (const auto* c = std::get_if<Counter>(&entry.metric)) return std::to_string(c->value());
  return std::to_string(std::get<Gauge>(entry.metric).value());
}

// HELP text escapes only backslash and newline (exposition format 0.0.4).
void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

bool Counters::valid_name(std::string_view name) noexcept {
  if (name.empty() || !name_start(name.front())) return false;
  for (char c : name.substr(1))
    if (!name_start(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

Counters::Entry& Counters::find_or_add(std::string_view name, std::string_view help,
                                       std::size_t kind) {
  if (!valid_name(name))
    throw std::invalid_argument("counter name \"" + std::string(name) +
                                "\" is invalid: use letters, digits, '_' and ':', not starting "
                                "with a digit");
  if (auto it = index_.find(name); it != index_.end()) {
    Entry& entry = entries_[it->second];
    if (entry.metric.index() != kind)
      throw std::invalid_argument("metric \"" + std::string(name) +
                                  "\" is already registered as a " +
                                  (kind == kCounter ? "gauge" : "counter"));
    return entry;
  }
  Entry& entry = entries_.emplace_back(Entry{std::string(name), std::string(help), {}});
  if (kind == kGauge) entry.metric.emplace<Gauge>();
  index_.emplace(entry.name, entries_.size() - 1);
  return entry;
}

Counter& Counters::counter(std::string_view name, std::string_view help) {
  return std::get<Counter>(find_or_add(name, help, kCounter).metric);
}

Gauge& Counters::gauge(std::string_view name, std::string_view help) {
  return std::get<Gauge>(find_or_add(name, help, kGauge).metric);
}

std::string Counters::to_text() const {
  std::size_t width = 0;
  for (const Entry& entry : entries_) width = std::max(width, entry.name.size());
  std::string out;
  for (const Entry& entry : entries_) {
    out += entry.name;
    out.append(width - entry.name.size() + 1, ' ');
    out += value_text(entry);
    out.push_back('\n');
  }
  return out;
}

std::string Counters::to_prometheus() const {
  std::string out;
  for (const Entry& entry : entries_) {
    std::string name = std::string(kPrefix) + entry.name;
    out += "# HELP " + name + ' ';
    append_help(out, entry.help);
    out += "\n# TYPE " + name + (entry.metric.index() == kCounter ? " counter\n" : " gauge\n");
    out += name + ' ' + value_text(entry) + '\n';
  }
  return out;
}

}  // namespace peermq
