// Logging: the one sink every part of peermq writes its log lines to, and how a program
// using the library sets its level, adds its own lines, or takes the lines over.
//
//   peermq::set_log_level(peermq::LogLevel::debug);
//   peermq::write_log(peermq::LogLevel::info, "myapp", "ready");
//   // -> 2026-11-23T01:22:33.123Z INFO  myapp: ready      (on stderr)
//
// A line is "<UTC time> <LEVEL> <component>: <message>\n". Control characters in component
// and message become '?', so text from the network cannot forge extra lines. By default
// each line reaches stderr in one write(2), so processes sharing a terminal or a file do
// not interleave mid-line. The level starts at info.
//
// Threads: set_log_level(), log_level(), log_enabled() and write_log() are safe from any
// thread. set_log_sink() is for start-up and tests: call it while no other thread logs.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

namespace peermq {

// Ordered by verbosity: a level enables itself and everything before it.
enum class LogLevel { error, warn, info, debug, trace };

// "error" | "warn" | "info" | "debug" | "trace", exactly (as -log=LEVEL and $PEERMQ_LOG
// take them); nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;
// The name parse_log_level() accepts, e.g. "warn".
const char* to_string(LogLevel level) noexcept;

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
// Whether a line of `level` would be written: test it before building an expensive one.
bool log_enabled(LogLevel level) noexcept;

// Writes one line if `level` is enabled.
void write_log(LogLevel level, std::string_view component, std::string_view message);
// The same with the message formatted printf-style (the compiler checks the format).
// Test log_enabled() first where the arguments cost something to compute.
void write_logf(LogLevel level, const char* component, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

// Receives each finished line, newline included, instead of stderr.
using LogSink = std::function<void(std::string_view line)>;
// Installs `sink` (an empty one restores stderr) and returns the one it replaces.
LogSink set_log_sink(LogSink sink);

}  // namespace peermq
