#include "log/log.hpp"

#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace lg = peermq::log;
using namespace std::chrono_literals;

namespace {

// Captures log lines for one test and restores the previous sink and level after it.
struct Capture {
  std::vector<std::string> lines;
  lg::Sink previous;
  lg::Level previous_level = lg::level();
  explicit Capture(lg::Level level) {
    previous = lg::set_sink([this](std::string_view line) { lines.emplace_back(line); });
    lg::set_level(level);
  }
  ~Capture() {
    lg::set_sink(std::move(previous));
    lg::set_level(previous_level);
  }
};

// 2026-11-23T01:22:33.123Z
const peermq::WallTime kWhen = peermq::WallTime{1795396953s + 123ms};

}  // namespace

TEST_CASE("log levels parse from their names") {
  CHECK(*lg::parse_level("error") == lg::Level::error);
  CHECK(*lg::parse_level("warn") == lg::Level::warn);
  CHECK(*lg::parse_level("info") == lg::Level::info);
  CHECK(*lg::parse_level("debug") == lg::Level::debug);
  CHECK(*lg::parse_level("trace") == lg::Level::trace);
  for (auto level :
       {lg::Level::error, lg::Level::warn, lg::Level::info, lg::Level::debug, lg::Level::trace})
    CHECK(*lg::parse_level(lg::level_name(level)) == level);
}

TEST_CASE("a bad log level is a typed error that names the choices") {
  for (const char* bad : {"", "INFO", "warning", "info ", "verbose", "4"}) {
    std::error_code error = lg::parse_level(bad).error();
    CHECK(error == lg::LogError::unknown_level);
    CHECK(error.message() == "unknown log level: use one of error, warn, info, debug, trace");
    CHECK(std::string(error.category().name()) == "peermq.log");
  }
}

TEST_CASE(
    "a log line is UTC ISO-8601 with milliseconds then padded level then component and message") {
  CHECK(lg::format_line(kWhen, lg::Level::info, "session", "hello 42") ==
        "2026-11-23T01:22:33.123Z INFO  session: hello 42\n");
  CHECK(lg::format_line(kWhen + 877ms, lg::Level::error, "udp", "x") ==
        "2026-11-23T01:22:34.000Z ERROR udp: x\n");
  CHECK(lg::format_line(peermq::WallTime{5ms}, lg::Level::warn, "a", "b") ==
        "1970-01-01T00:00:00.005Z WARN  a: b\n");
  CHECK(lg::format_line(kWhen, lg::Level::debug, "c", "") ==
        "2026-11-23T01:22:33.123Z DEBUG c: \n");
  CHECK(lg::format_line(kWhen, lg::Level::trace, "c", "m") ==
        "2026-11-23T01:22:33.123Z TRACE c: m\n");
}

TEST_CASE("control characters from the network cannot forge log lines") {
  CHECK(lg::format_line(kWhen, lg::Level::warn, "mq\n", "cmd=evil\n2026 ERROR fake\r\x1b[2J") ==
        "2026-11-23T01:22:33.123Z WARN  mq?: cmd=evil?2026 ERROR fake??[2J\n");
}

TEST_CASE("PEERMQ_LOG formats printf-style into the sink with one line per call") {
  Capture capture(lg::Level::info);
  PEERMQ_LOG(info, "session", "peer %s rtt %d ms", "pm1abc", 12);
  PEERMQ_LOG(error, "udp", "plain");
  REQUIRE(capture.lines.size() == 2);
  const std::string& line = capture.lines[0];
  REQUIRE(line.size() > 25);
  CHECK(line.substr(25) == "INFO  session: peer pm1abc rtt 12 ms\n");
  // The timestamp has the right shape: 2026-11-23T01:22:33.123Z
  CHECK(line[4] == '-');
  CHECK(line[10] == 'T');
  CHECK(line[19] == '.');
  CHECK(line[23] == 'Z');
  CHECK(capture.lines[1].substr(25) == "ERROR udp: plain\n");
}

TEST_CASE("long log messages are not truncated") {
  Capture capture(lg::Level::info);
  std::string big(5000, 'x');
  PEERMQ_LOG(warn, "big", "<%s>", big.c_str());
  REQUIRE(capture.lines.size() == 1);
  CHECK(capture.lines[0].substr(25) == "WARN  big: <" + big + ">\n");
}

TEST_CASE("a disabled level neither emits nor evaluates its arguments") {
  Capture capture(lg::Level::warn);
  int evaluated = 0;
  auto side_effect = [&] { return ++evaluated; };
  PEERMQ_LOG(info, "t", "%d", side_effect());
  PEERMQ_LOG(debug, "t", "%d", side_effect());
  PEERMQ_LOG(trace, "t", "%d", side_effect());
  CHECK(evaluated == 0);
  CHECK(capture.lines.empty());

  PEERMQ_LOG(warn, "t", "%d", side_effect());
  PEERMQ_LOG(error, "t", "%d", side_effect());
  CHECK(evaluated == 2);
  CHECK(capture.lines.size() == 2);
}

TEST_CASE("the level threshold enables itself and everything more severe") {
  Capture capture(lg::Level::debug);
  CHECK(lg::level() == lg::Level::debug);
  CHECK(lg::enabled(lg::Level::error));
  CHECK(lg::enabled(lg::Level::debug));
  CHECK_FALSE(lg::enabled(lg::Level::trace));
  lg::set_level(lg::Level::error);
  CHECK(lg::enabled(lg::Level::error));
  CHECK_FALSE(lg::enabled(lg::Level::warn));
}
