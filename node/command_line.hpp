// The `peermq <role> [flags]` command line: role lookup, shared flags, help and exit codes.
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "flag_set.hpp"

namespace peermq::cli {

// Exit codes, as a shell script sees them.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // the role ran and failed (bad key file, unreachable broker, ...)
  kExitUsage = 2,    // the command line is wrong: unknown role or flag, bad value
};

// Where a role writes and how it reads the environment; tests pass string streams.
struct Io {
  std::ostream& out;
  std::ostream& err;
  const char* (*env)(const char*) = nullptr;
  // out is a terminal: a person reads it line by line. Otherwise (a pipe, a file) roles
  // write what a loop iteration printed at once, so printing never paces the work.
  bool out_is_terminal = false;
};

struct Role {
  std::string_view name;
  std::string_view summary;
  void (*define_flags)(FlagSet&);
  int (*run)(const FlagSet&, Io&);
};

// Every role the binary knows, in the order `peermq -h` lists them.
std::span<const Role> roles();

// Flags every role takes (-log=LEVEL, ...). Roles call it from define_flags.
void add_common_flags(FlagSet& flags, std::string default_log = "info");

// Runs `peermq args...` (args excludes the program name) and returns the exit code.
int run(std::span<const std::string> args, Io& io);

}  // namespace peermq::cli
