// The public log: level names, the level threshold, and lines through the one sink the
// library writes to.
#include <peermq/log.hpp>

#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace peermq;

namespace {

// Captures lines for one test and restores the previous sink and level after it.
struct Capture {
  std::vector<std::string> lines;
  LogSink previous;
  LogLevel previous_level = log_level();
  explicit Capture(LogLevel level) {
    previous = set_log_sink([this](std::string_view line) { lines.emplace_back(line); });
    set_log_level(level);
  }
  ~Capture() {
    set_log_sink(std::move(previous));
    set_log_level(previous_level);
  }
};

}  // namespace

TEST_CASE("log levels parse from their names, and nothing else") {
  struct Case {
    const char* text;
    std::optional<LogLevel> level;
  };
  const Case cases[] = {
      /* 1 */ {"error", LogLevel::error},
      /* 2 */ {"warn", LogLevel::warn},
      /* 3 */ {"info", LogLevel::info},
      /* 4 */ {"debug", LogLevel::debug},
      /* 5 */ {"trace", LogLevel::trace},
      /* 6 */ {"INFO", std::nullopt},
      /* 7 */ {"warning", std::nullopt},
      /* 8 */ {"", std::nullopt},
      /* 9 */ {"info ", std::nullopt},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(parse_log_level(c.text) == c.level);
    if (c.level) CHECK(std::string(to_string(*c.level)) == c.text);
  }
}

TEST_CASE("a line is written through the sink only at an enabled level") {
  Capture capture(LogLevel::warn);
  CHECK(log_enabled(LogLevel::error));
  CHECK(log_enabled(LogLevel::warn));
  CHECK_FALSE(log_enabled(LogLevel::info));
  write_log(LogLevel::info, "app", "not shown");
  write_log(LogLevel::warn, "app", "disk almost full");
  write_logf(LogLevel::debug, "app", "not shown %d", 1);
  write_logf(LogLevel::error, "app", "%d of %s", 3, "four");
  REQUIRE(capture.lines.size() == 2);
  CHECK(capture.lines[0].find(" WARN  app: disk almost full\n") != std::string::npos);
  CHECK(capture.lines[1].find(" ERROR app: 3 of four\n") != std::string::npos);
  // "2026-11-23T01:22:33.123Z ": a UTC timestamp first.
  CHECK(capture.lines[0].size() > 25);
  CHECK(capture.lines[0][10] == 'T');
  CHECK(capture.lines[0][23] == 'Z');
}

TEST_CASE("control characters cannot forge a second log line") {
  Capture capture(LogLevel::info);
  write_log(LogLevel::info, "app", "one\nFAKE line");
  REQUIRE(capture.lines.size() == 1);
  CHECK(capture.lines[0].find("one?FAKE line\n") != std::string::npos);
}
