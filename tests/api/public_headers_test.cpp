// The public headers (include/peermq/) expose no internals: they include only the standard
// library and each other (no libsodium, no libuv, nothing from src/), name no test clock,
// and let nobody outside the library register counters. That each compiles on its own is
// checked by the build (tests/CMakeLists.txt: peermq_public_headers).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/counters.hpp>

#include "metrics/counter_registry.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> public_headers() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(PEERMQ_PUBLIC_INCLUDE_DIR)) {
    if (entry.path().extension() == ".hpp") out.push_back(entry.path());
  }
  return out;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The header without its // comments (which may well name what the code must not).
std::string code_of(const fs::path& path) {
  std::istringstream lines(read(path));
  std::string out, line;
  while (std::getline(lines, line)) {
    out += line.substr(0, line.find("//"));
    out += '\n';
  }
  return out;
}

// `<vector>` and `<peermq/x.hpp>` are fine; `"x.hpp"`, `<sodium.h>`, `<uv.h>` are not: a
// standard C++ header has no extension and no directory.
bool allowed_include(std::string_view target) {
  if (target.size() < 3 || target.front() != '<' || target.back() != '>') return false;
  const std::string_view name = target.substr(1, target.size() - 2);
  if (name.starts_with("peermq/")) return name.ends_with(".hpp");
  return name.find('.') == std::string_view::npos && name.find('/') == std::string_view::npos;
}

template <class C>
concept can_register = requires(C& c) { c.counter(std::string_view{}, std::string_view{}); };

}  // namespace

TEST_CASE("public headers include only the standard library and other public headers") {
  const auto headers = public_headers();
  REQUIRE(headers.size() >= 15);
  for (const fs::path& header : headers) {
    CAPTURE(header.filename().string());
    std::istringstream lines(read(header));
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.starts_with("#include")) continue;
      std::string_view target = line;
      target.remove_prefix(8);
      while (!target.empty() && target.front() == ' ') target.remove_prefix(1);
      target = target.substr(0, target.find_first_of(" /", target.find_first_of(">\"", 1) + 1));
      CAPTURE(line);
      CHECK(allowed_include(target));
    }
  }
  // The check itself tells the cases apart.
  CHECK(allowed_include("<vector>"));
  CHECK(allowed_include("<peermq/result.hpp>"));
  CHECK_FALSE(allowed_include("<sodium.h>"));
  CHECK_FALSE(allowed_include("<uv.h>"));
  CHECK_FALSE(allowed_include("\"runtime/loop.hpp\""));
  CHECK_FALSE(allowed_include("<sys/types.h>"));
}

TEST_CASE("public headers name no test clock and no libuv or libsodium type") {
  for (const fs::path& header : public_headers()) {
    CAPTURE(header.filename().string());
    const std::string text = code_of(header);
    for (const std::string word : {"ManualClock", "uv_", "sodium_", "crypto_sign", "randombytes"}) {
      CAPTURE(word);
      CHECK(text.find(word) == std::string::npos);
    }
  }
}

TEST_CASE("counters can be read through the public API but registered only by the library") {
  CHECK_FALSE(can_register<peermq::Counters>);
  CHECK(can_register<const peermq::CounterRegistry>);
}
