// Flags as the examples take them, Go style: -broker=ADDR (or --broker=ADDR).
// Deliberately tiny: the examples are about peermq, not about parsing command lines.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

namespace example {

// The value of -name=VALUE, or `fallback` when it is not given.
inline std::string flag(int argc, char** argv, std::string_view name, std::string fallback = "") {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    while (arg.starts_with('-')) arg.remove_prefix(1);
    if (arg.starts_with(name) && arg.substr(name.size()).starts_with('=')) {
      return std::string(arg.substr(name.size() + 1));
    }
  }
  return fallback;
}

inline long number_flag(int argc, char** argv, std::string_view name, long fallback) {
  const std::string text = flag(argc, argv, name);
  return text.empty() ? fallback : std::strtol(text.c_str(), nullptr, 10);
}

}  // namespace example
