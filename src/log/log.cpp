#include "log/log.hpp"

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <utility>

#include <unistd.h>

namespace peermq::log {

namespace {

constexpr std::array<const char*, 5> kNames{"error", "warn", "info", "debug", "trace"};
// Padded to one width so messages line up in a terminal.
constexpr std::array<const char*, 5> kTags{"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};

Sink& sink() {
  static Sink current;
  return current;
}

void write_stderr(std::string_view line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report a failing stderr
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void append_clean(std::string& out, std::string_view text) {
  for (char c : text) {
    bool control = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    out.push_back(control ? '?' : c);
  }
}

// "2026-11-23T01:22:33.123Z"
void append_timestamp(std::string& out, WallTime when) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(when.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  auto millis = static_cast<int>(ms % 1000);
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    --secs;
  }
  std::tm utc{};
  gmtime_r(&secs, &utc);
  std::array<char, 40> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, millis);
  if (n > 0) out.append(buf.data(), static_cast<std::size_t>(n));
}

std::string format_message(const char* format, va_list args) {
  std::array<char, 512> small{};
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(small.data(), small.size(), format, args);
  std::string message;
  if (n < 0) {
    message = "(bad log format)";
  } else if (static_cast<std::size_t>(n) < small.size()) {
    message.assign(small.data(), static_cast<std::size_t>(n));
  } else {
    message.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(message.data(), message.size(), format, again);
    message.pop_back();
  }
  va_end(again);
  return message;
}

}  // namespace

const char* describe(LogError e) {
  switch (e) {
    case LogError::unknown_level:
      return "unknown log level: use one of error, warn, info, debug, trace";
  }
  return "unknown log error";
}

Result<Level> parse_level(std::string_view text) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (text == kNames[i]) return static_cast<Level>(i);
  return LogError::unknown_level;
}

const char* level_name(Level level) {
  return kNames[static_cast<std::size_t>(level)];
}

Sink set_sink(Sink next) {
  return std::exchange(sink(), std::move(next));
}

std::string format_line(WallTime when, Level level, std::string_view component,
                        std::string_view message) {
  std::string line;
  line.reserve(32 + component.size() + message.size());
  append_timestamp(line, when);
  line.push_back(' ');
  line.append(kTags[static_cast<std::size_t>(level)]);
  line.push_back(' ');
  append_clean(line, component);
  line.append(": ");
  append_clean(line, message);
  line.push_back('\n');
  return line;
}

void write_message(Level level, std::string_view component, std::string_view message) {
  std::string line = format_line(std::chrono::system_clock::now(), level, component, message);
  if (const Sink& s = sink()) {
    s(line);
  } else {
    write_stderr(line);
  }
}

void vwrite(Level level, const char* component, const char* format, va_list args) {
  write_message(level, component, format_message(format, args));
}

void write(Level level, const char* component, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vwrite(level, component, format, args);
  va_end(args);
}

}  // namespace peermq::log
