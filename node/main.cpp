// peermq: one binary for every role. Flags -> config -> run; the work is in the library.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  peermq::cli::Io io{std::cout, std::cerr, [](const char* name) -> const char* { return std::getenv(name); }};
  int code = peermq::cli::run(args, io);
  std::cout.flush();
  return code;
}
