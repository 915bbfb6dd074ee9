// The public logging calls over the library's own sink (log/log.hpp): one level, one
// sink and one line format for the library and the programs that use it.
#include <peermq/log.hpp>

#include <cstdarg>

#include "log/log.hpp"

namespace peermq {

namespace {

log::Level to_runtime(LogLevel level) noexcept {
  return static_cast<log::Level>(static_cast<int>(level));
}

// The two enums list the same levels in the same order.
static_assert(static_cast<int>(LogLevel::error) == static_cast<int>(log::Level::error));
static_assert(static_cast<int>(LogLevel::trace) == static_cast<int>(log::Level::trace));

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
  auto level = log::parse_level(text);
  if (!level) return std::nullopt;
  return static_cast<LogLevel>(static_cast<int>(*level));
}

const char* to_string(LogLevel level) noexcept {
  return log::level_name(to_runtime(level));
}

void set_log_level(LogLevel level) noexcept {
  log::set_level(to_runtime(level));
}

LogLevel log_level() noexcept {
  return static_cast<LogLevel>(static_cast<int>(log::level()));
}

bool log_enabled(LogLevel level) noexcept {
  return log::enabled(to_runtime(level));
}

void write_log(LogLevel level, std::string_view component, std::string_view message) {
  if (log::enabled(to_runtime(level))) log::write_message(to_runtime(level), component, message);
}

void write_logf(LogLevel level, const char* component, const char* format, ...) {
  if (!log::enabled(to_runtime(level))) return;
  va_list args;
  va_start(args, format);
  log::vwrite(to_runtime(level), component, format, args);
  va_end(args);
}

LogSink set_log_sink(LogSink sink) {
  return log::set_sink(std::move(sink));
}

}  // namespace peermq
