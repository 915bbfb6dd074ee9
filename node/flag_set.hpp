// FlagSet: the flags of one `peermq <role>`, parsed the way Go's flag package does.
//
// Accepted forms: -name=value, -name value, --name=value, --name value; a boolean flag
// alone (-stat) means true, and -stat=false turns it off. A lone "--" ends the flags.
// Anything that does not start with '-' is a positional argument (e.g. ping's ADDR).
// A flag may name an environment variable that supplies its value when the command line
// does not (PEERMQ_RELAY for -relay): the command line wins.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <peermq/result.hpp>

namespace peermq::cli {

enum class FlagError {
  unknown_flag = 1,
  missing_value,
  bad_value,
  repeated_flag,
  unexpected_argument,
  help_requested,  // not a failure: the caller prints usage() and exits 0
};
const char* describe(FlagError e);
inline const char* category_name(FlagError) { return "peermq.cli"; }
PEERMQ_ERROR_ENUM(FlagError)

// What went wrong, with the names a user needs to fix it.
struct FlagParseError {
  FlagError code;
  std::string flag;    // as the user wrote it, e.g. "-prefetch" or "PEERMQ_RELAY"
  std::string value;   // the offending value, if any
  std::string detail;  // why the value is bad, e.g. "must be between 1 and 65535"
  std::string message() const;
};

enum class FlagKind { string, integer, boolean };

class FlagSet {
 public:
  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  // Definitions. `value_name` is shown in usage: -key=FILE.
  void add_string(std::string name, std::string default_value, std::string help,
                  std::string value_name = "VALUE", std::string env = {});
  void add_integer(std::string name, std::int64_t default_value, std::int64_t min, std::int64_t max,
                   std::string help, std::string value_name = "N", std::string env = {});
  void add_bool(std::string name, bool default_value, std::string help, std::string env = {});
  // Attaches a check to a defined flag: it returns why a value is bad, or nothing.
  using Check = std::function<std::optional<std::string>(std::string_view)>;
  void check(std::string_view name, Check check);

  // Positional arguments: how usage shows them (e.g. "ADDR") and how many are allowed.
  // By default a role takes none, and a stray word is an error.
  void set_positional(std::string usage, std::size_t max_count) {
    positional_usage_ = std::move(usage);
    max_positional_ = max_count;
  }

  // Parses `args` (without the program and role words). `env` looks up environment
  // variables; pass nullptr to ignore the environment.
  std::optional<FlagParseError> parse(std::span<const std::string> args,
                                      const char* (*env)(const char*) = nullptr);

  const std::string& get_string(std::string_view name) const;
  std::int64_t get_integer(std::string_view name) const;
  bool get_bool(std::string_view name) const;
  // True when the command line or the environment gave the flag a value.
  bool is_set(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string usage(std::string_view summary) const;

 private:
  struct Flag {
    FlagKind kind = FlagKind::string;
    std::string help;
    std::string value_name;
    std::string env;
    std::string default_text;
    std::int64_t min = 0, max = 0;
    Check check;
    std::string text;
    std::int64_t integer = 0;
    bool boolean = false;
    bool set = false;
  };
  static Flag make_flag(FlagKind kind, std::string help, std::string value_name, std::string env,
                        std::string default_text);
  Flag& define(std::string name, Flag flag);
  const Flag& find(std::string_view name, FlagKind kind) const;
  std::optional<FlagParseError> assign(Flag& flag, std::string_view shown, std::string_view value);

  std::string program_;
  std::map<std::string, Flag, std::less<>> flags_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
  std::string positional_usage_;
  std::size_t max_positional_ = 0;
};

}  // namespace peermq::cli

PEERMQ_ERROR_ENUM_STD(peermq::cli::FlagError)
