#include "sim/sim_log.hpp"

#include <cstdio>
#include <cstdlib>

namespace peermq::sim {

namespace {

const std::string* g_who = nullptr;

log::Level level_from_env() {
  const char* text = std::getenv("PEERMQ_SIM_LOG");
  if (text == nullptr || *text == '\0') return log::Level::info;
  auto level = log::parse_level(text);
  return level ? *level : log::Level::info;
}

}  // namespace

SimLog::Scope::Scope(const std::string& who) noexcept : outer_(g_who) {
  g_who = &who;
}

SimLog::Scope::~Scope() {
  g_who = outer_;
}

SimLog::SimLog(const SimScheduler& scheduler, std::size_t max_lines)
    : scheduler_(scheduler), max_lines_(max_lines), previous_level_(log::level()) {
  previous_sink_ = log::set_sink([this](std::string_view line) {
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(scheduler_.elapsed()).count();
    char stamp[48];
    std::snprintf(stamp, sizeof stamp, "[%4lld.%06lld s ", static_cast<long long>(us / 1000000),
                  static_cast<long long>(us % 1000000));
    std::string entry = stamp;
    entry += g_who != nullptr ? *g_who : std::string("sim");
    entry += "] ";
    entry.append(line.data(), line.size());
    if (!entry.empty() && entry.back() == '\n') entry.pop_back();
    lines_.push_back(std::move(entry));
    if (lines_.size() > max_lines_) lines_.pop_front();
  });
  log::set_level(level_from_env());
}

SimLog::~SimLog() {
  log::set_sink(std::move(previous_sink_));
  log::set_level(previous_level_);
}

std::string SimLog::tail(std::size_t n) const {
  std::string out;
  const std::size_t from = lines_.size() > n ? lines_.size() - n : 0;
  for (std::size_t i = from; i < lines_.size(); ++i) {
    out += lines_[i];
    out += '\n';
  }
  return out;
}

}  // namespace peermq::sim
