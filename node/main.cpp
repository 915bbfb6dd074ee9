// peermq: one binary for every role. Flags -> config -> run; the work is in the library.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Nothing here writes through C stdio: std::cout buffers on its own, written when a role
  // flushes it (per line on a terminal, per loop iteration otherwise: Io::out_is_terminal).
  std::ios::sync_with_stdio(false);
  peermq::cli::Io io{std::cout, std::cerr,
                     [](const char* name) -> const char* { return std::getenv(name); },
                     isatty(STDOUT_FILENO) == 1};
  if (io.out_is_terminal) std::cout.setf(std::ios::unitbuf);  // as a line-buffered terminal
  int code = peermq::cli::run(args, io);
  std::cout.flush();
  return code;
}
