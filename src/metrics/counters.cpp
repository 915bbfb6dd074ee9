#include <peermq/counters.hpp>

#include <algorithm>

namespace peermq {

namespace {

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

const Counters::Entry* Counters::find(std::string_view name) const noexcept {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::uint64_t Counters::counter_value(std::string_view name) const noexcept {
  const Entry* entry = find(name);
  const Counter* c = entry != nullptr ? std::get_if<Counter>(&entry->metric) : nullptr;
  return c != nullptr ? c->value() : 0;
}

std::int64_t Counters::gauge_value(std::string_view name) const noexcept {
  const Entry* entry = find(name);
  const Gauge* g = entry != nullptr ? std::get_if<Gauge>(&entry->metric) : nullptr;
  return g != nullptr ? g->value() : 0;
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
    out += "\n# TYPE " + name +
           (std::holds_alternative<Counter>(entry.metric) ? " counter\n" : " gauge\n");
    out += name + ' ' + value_text(entry) + '\n';
  }
  return out;
}

}  // namespace peermq
