#include "flag_set.hpp"

#include <charconv>
#include <sstream>
#include <stdexcept>

namespace peermq::cli {

const char* describe(FlagError e) {
  switch (e) {
    case FlagError::unknown_flag: return "flag provided but not defined";
    case FlagError::missing_value: return "flag needs a value";
    case FlagError::bad_value: return "invalid value for flag";
    case FlagError::repeated_flag: return "flag given more than once";
    case FlagError::unexpected_argument: return "unexpected argument";
    case FlagError::help_requested: return "help requested";
  }
  return "unknown flag error";
}

std::string FlagParseError::message() const {
  std::string m;
  switch (code) {
    case FlagError::unknown_flag: m = "unknown flag " + flag; break;
    case FlagError::missing_value: m = "flag " + flag + " needs a value (" + flag + "=VALUE)"; break;
    case FlagError::bad_value: m = "invalid value \"" + value + "\" for " + flag; break;
    case FlagError::repeated_flag: m = "flag " + flag + " given more than once"; break;
    case FlagError::unexpected_argument: m = "unexpected argument \"" + value + "\""; break;
    case FlagError::help_requested: m = "help requested"; break;
  }
  if (!detail.empty()) m += ": " + detail;
  return m;
}

FlagSet::Flag& FlagSet::define(std::string name, Flag flag) {
  // Programmer errors: caught by the tests that build every role's flag set.
  if (name.empty() || name[0] == '-' || name == "h" || name == "help")
    throw std::logic_error("bad flag name: " + name);
  auto [it, inserted] = flags_.emplace(name, std::move(flag));
  if (!inserted) throw std::logic_error("flag defined twice: " + name);
  order_.push_back(std::move(name));
  return it->second;
}

FlagSet::Flag FlagSet::make_flag(FlagKind kind, std::string help, std::string value_name,
                                 std::string env, std::string default_text) {
  Flag f;
  f.kind = kind;
  f.help = std::move(help);
  f.value_name = std::move(value_name);
  f.env = std::move(env);
  f.text = default_text;
  f.default_text = std::move(default_text);
  return f;
}

void FlagSet::add_string(std::string name, std::string default_value, std::string help,
                         std::string value_name, std::string env) {
  define(std::move(name), make_flag(FlagKind::string, std::move(help), std::move(value_name),
                                    std::move(env), std::move(default_value)));
}

void FlagSet::add_integer(std::string name, std::int64_t default_value, std::int64_t min,
                          std::int64_t max, std::string help, std::string value_name,
                          std::string env) {
  Flag f = make_flag(FlagKind::integer, std::move(help), std::move(value_name), std::move(env),
                     std::to_string(default_value));
  f.min = min;
  f.max = max;
  f.integer = default_value;
  define(std::move(name), std::move(f));
}

void FlagSet::add_bool(std::string name, bool default_value, std::string help, std::string env) {
  Flag f = make_flag(FlagKind::boolean, std::move(help), "", std::move(env),
                     default_value ? "true" : "false");
  f.boolean = default_value;
  define(std::move(name), std::move(f));
}

void FlagSet::check(std::string_view name, Check check) {
  auto it = flags_.find(name);
  if (it == flags_.end()) throw std::logic_error("check for an undefined flag: " + std::string(name));
  it->second.check = std::move(check);
}

std::optional<FlagParseError> FlagSet::assign(Flag& flag, std::string_view shown,
                                              std::string_view value) {
  if (flag.check) {
    if (auto why = flag.check(value))
      return FlagParseError{FlagError::bad_value, std::string(shown), std::string(value), *why};
  }
  switch (flag.kind) {
    case FlagKind::string:
      flag.text = std::string(value);
      break;
    case FlagKind::integer: {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc::result_out_of_range || (ec == std::errc{} && (v < flag.min || v > flag.max)))
        return FlagParseError{FlagError::bad_value, std::string(shown), std::string(value),
                              "must be between " + std::to_string(flag.min) + " and " +
                                  std::to_string(flag.max)};
      if (ec != std::errc{} || end != value.data() + value.size() || value.empty())
        return FlagParseError{FlagError::bad_value, std::string(shown), std::string(value),
                              "must be a whole number"};
      flag.integer = v;
      flag.text = std::string(value);
      break;
    }
    case FlagKind::boolean:
      if (value == "true" || value == "1" || value == "yes") {
        flag.boolean = true;
      } else if (value == "false" || value == "0" || value == "no") {
        flag.boolean = false;
      } else {
        return FlagParseError{FlagError::bad_value, std::string(shown), std::string(value),
                              "must be true or false"};
      }
      flag.text = std::string(value);
      break;
  }
  flag.set = true;
  return std::nullopt;
}

std::optional<FlagParseError> FlagSet::parse(std::span<const std::string> args,
                                             const char* (*env)(const char*)) {
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      if (positional_.size() == max_positional_)
        return FlagParseError{FlagError::unexpected_argument, {}, std::string(arg),
                              max_positional_ == 0 ? "this role takes only flags"
                                                   : "expected " + positional_usage_};
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string_view name = body.substr(0, body.find('='));
    std::optional<std::string_view> inline_value;
    if (name.size() < body.size()) inline_value = body.substr(name.size() + 1);
    std::string shown(arg.substr(0, arg.size() - body.size()));
    shown += name;

    if (name == "h" || name == "help") return FlagParseError{FlagError::help_requested, shown, {}, {}};
    auto it = flags_.find(name);
    if (it == flags_.end() || name.empty())
      return FlagParseError{FlagError::unknown_flag, shown, {}, {}};
    Flag& flag = it->second;
    if (flag.set) return FlagParseError{FlagError::repeated_flag, shown, {}, {}};

    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (flag.kind == FlagKind::boolean) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return FlagParseError{FlagError::missing_value, shown, {}, {}};
    }
    if (auto err = assign(flag, shown, value)) return err;
  }
  if (env != nullptr) {
    for (auto& [name, flag] : flags_) {
      if (flag.set || flag.env.empty()) continue;
      const char* value = env(flag.env.c_str());
      if (value == nullptr || *value == '\0') continue;
      if (auto err = assign(flag, flag.env, value)) return err;
    }
  }
  return std::nullopt;
}

const FlagSet::Flag& FlagSet::find(std::string_view name, FlagKind kind) const {
  auto it = flags_.find(name);
  if (it == flags_.end() || it->second.kind != kind)
    throw std::logic_error("no such flag of that kind: " + std::string(name));
  return it->second;
}

const std::string& FlagSet::get_string(std::string_view name) const {
  return find(name, FlagKind::string).text;
}
std::int64_t FlagSet::get_integer(std::string_view name) const {
  return find(name, FlagKind::integer).integer;
}
bool FlagSet::get_bool(std::string_view name) const { return find(name, FlagKind::boolean).boolean; }

bool FlagSet::is_set(std::string_view name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second.set;
}

std::string FlagSet::usage(std::string_view summary) const {
  std::ostringstream out;
  out << "usage: " << program_ << " [flags]";
  if (!positional_usage_.empty()) out << ' ' << positional_usage_;
  out << "\n\n" << summary << "\n\nflags:\n";
  for (const auto& name : order_) {
    const Flag& f = flags_.find(name)->second;
    std::string left = "  -" + name;
    if (f.kind != FlagKind::boolean) left += "=" + f.value_name;
    out << left;
    out << std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') << f.help;
    if (!f.default_text.empty() && f.default_text != "false")
      out << " (default " << f.default_text << ")";
    if (!f.env.empty()) out << " [$" << f.env << "]";
    out << '\n';
  }
  out << "  -h, --help            show this help\n";
  return out.str();
}

}  // namespace peermq::cli
