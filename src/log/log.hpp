// Leveled logging to stderr, one line per event:
//
//   2026-11-23T01:22:33.123Z INFO  session: handshake done with pm1abc... in 12 ms
//
// Log through the macro, which tests the level before anything else, so a disabled
// level costs one relaxed load and its arguments are never evaluated:
//
//   PEERMQ_LOG(debug, "session", "rekey after %llu packets", count);
//
// The format string is checked by the compiler (printf rules). Each line reaches the
// sink in one piece and stderr in one write(2), so concurrent processes sharing a
// terminal or file do not interleave mid-line.
//
// Threads: set_level() and PEERMQ_LOG are safe from any thread. set_sink() is for tests
// and start-up: call it while no other thread logs.
#pragma once

#include <atomic>
#include <cstdarg>
#include <functional>
#include <string>
#include <string_view>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

namespace peermq::log {

// Ordered by verbosity: a level enables itself and everything before it.
enum class Level { error, warn, info, debug, trace };

enum class LogError {
  unknown_level = 1,
};
const char* describe(LogError e);
inline const char* category_name(LogError) {
  return "peermq.log";
}
PEERMQ_ERROR_ENUM(LogError)

// "error" | "warn" | "info" | "debug" | "trace", exactly (as -log=LEVEL and PEERMQ_LOG take).
Result<Level> parse_level(std::string_view text);
// The name parse_level() accepts, e.g. "warn".
const char* level_name(Level level);

namespace detail {
inline std::atomic<Level> threshold{Level::info};
}  // namespace detail

inline void set_level(Level level) noexcept {
  detail::threshold.store(level, std::memory_order_relaxed);
}
inline Level level() noexcept {
  return detail::threshold.load(std::memory_order_relaxed);
}
inline bool enabled(Level level) noexcept {
  return static_cast<int>(level) <=
         static_cast<int>(detail::threshold.load(std::memory_order_relaxed));
}

// Receives each finished line, newline included. The default writes it to stderr.
using Sink = std::function<void(std::string_view line)>;
// Installs `sink` (an empty one restores stderr) and returns the one it replaces.
Sink set_sink(Sink sink);

// Builds one line. Control characters in component and message become '?', so text from
// the network cannot forge extra log lines.
std::string format_line(WallTime when, Level level, std::string_view component,
                        std::string_view message);

// Formats and emits one line whatever the level; call it through PEERMQ_LOG.
void write(Level level, const char* component, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
// The same with the arguments as a va_list (the public write_logf).
void vwrite(Level level, const char* component, const char* format, va_list args)
    __attribute__((format(printf, 3, 0)));
// Emits one line with a finished message whatever the level (the public write_log).
void write_message(Level level, std::string_view component, std::string_view message);

}  // namespace peermq::log

PEERMQ_ERROR_ENUM_STD(peermq::log::LogError)

// PEERMQ_LOG(level, "component", "printf format", args...): level is one of error, warn,
// info, debug, trace. Arguments are evaluated only when the level is enabled.
#define PEERMQ_LOG(level, component, ...)                                        \
  do {                                                                           \
    if (::peermq::log::enabled(::peermq::log::Level::level))                     \
      ::peermq::log::write(::peermq::log::Level::level, component, __VA_ARGS__); \
  } while (0)
