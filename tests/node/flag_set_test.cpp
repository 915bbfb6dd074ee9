#include "flag_set.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

using peermq::cli::FlagError;
using peermq::cli::FlagSet;

namespace {

FlagSet make_flags() {
  FlagSet f("peermq test");
  f.add_string("broker", "", "broker address", "ADDR");
  f.add_integer("prefetch", 16, 1, 65535, "messages in flight");
  f.add_bool("stat", false, "print counters");
  f.add_string("relay", "", "relays", "HOST:PORT", "PEERMQ_RELAY");
  return f;
}

std::vector<std::string> args(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

const char* fake_env(const char* name) {
  return std::strcmp(name, "PEERMQ_RELAY") == 0 ? "127.0.0.1:7000" : nullptr;
}

}  // namespace

TEST_CASE("flags accept Go style, double dash, and separate values") {
  for (auto form : {args({"-broker=abc", "-prefetch=4", "-stat"}),
                    args({"--broker=abc", "--prefetch=4", "--stat"}),
                    args({"--broker", "abc", "-prefetch", "4", "-stat=true"})}) {
    FlagSet f = make_flags();
    REQUIRE_FALSE(f.parse(form).has_value());
    CHECK(f.get_string("broker") == "abc");
    CHECK(f.get_integer("prefetch") == 4);
    CHECK(f.get_bool("stat"));
    CHECK(f.is_set("broker"));
    CHECK_FALSE(f.is_set("relay"));
  }
}

TEST_CASE("flags keep their defaults when not given") {
  FlagSet f = make_flags();
  REQUIRE_FALSE(f.parse(args({})).has_value());
  CHECK(f.get_integer("prefetch") == 16);
  CHECK_FALSE(f.get_bool("stat"));
  CHECK(f.get_string("broker").empty());
}

TEST_CASE("a boolean flag can be turned off explicitly") {
  FlagSet f = make_flags();
  REQUIRE_FALSE(f.parse(args({"-stat=false"})).has_value());
  CHECK_FALSE(f.get_bool("stat"));
  CHECK(f.is_set("stat"));
}

TEST_CASE("an unknown flag is an error that names it") {
  FlagSet f = make_flags();
  auto err = f.parse(args({"-brokr=abc"}));
  REQUIRE(err.has_value());
  CHECK(err->code == FlagError::unknown_flag);
  CHECK(err->message() == "unknown flag -brokr");
  FlagSet g = make_flags();
  auto err2 = g.parse(args({"--nope"}));
  REQUIRE(err2.has_value());
  CHECK(err2->message() == "unknown flag --nope");
}

TEST_CASE("a bad integer names the flag, the value and the allowed range") {
  struct Case { const char* arg; const char* message; };
  for (Case c : {Case{"-prefetch=abc", "invalid value \"abc\" for -prefetch: must be a whole number"},
                 Case{"-prefetch=", "invalid value \"\" for -prefetch: must be a whole number"},
                 Case{"-prefetch=4x", "invalid value \"4x\" for -prefetch: must be a whole number"},
                 Case{"-prefetch=0", "invalid value \"0\" for -prefetch: must be between 1 and 65535"},
                 Case{"-prefetch=99999999999999999999",
                      "invalid value \"99999999999999999999\" for -prefetch: must be between 1 and 65535"}}) {
    CAPTURE(c.arg);
    FlagSet f = make_flags();
    auto err = f.parse(args({c.arg}));
    REQUIRE(err.has_value());
    CHECK(err->code == FlagError::bad_value);
    CHECK(err->message() == c.message);
  }
}

TEST_CASE("a bad boolean value is an error") {
  FlagSet f = make_flags();
  auto err = f.parse(args({"-stat=maybe"}));
  REQUIRE(err.has_value());
  CHECK(err->code == FlagError::bad_value);
  CHECK(err->message() == "invalid value \"maybe\" for -stat: must be true or false");
}

TEST_CASE("a flag without its value is an error") {
  FlagSet f = make_flags();
  auto err = f.parse(args({"-broker"}));
  REQUIRE(err.has_value());
  CHECK(err->code == FlagError::missing_value);
  CHECK(err->message() == "flag -broker needs a value (-broker=VALUE)");
}

TEST_CASE("a flag given twice is an error") {
  FlagSet f = make_flags();
  auto err = f.parse(args({"-broker=a", "-broker=b"}));
  REQUIRE(err.has_value());
  CHECK(err->code == FlagError::repeated_flag);
}

TEST_CASE("help is reported, not treated as a failure") {
  for (const char* h : {"-h", "-help", "--help"}) {
    FlagSet f = make_flags();
    auto err = f.parse(args({h}));
    REQUIRE(err.has_value());
    CHECK(err->code == FlagError::help_requested);
  }
}

TEST_CASE("positional arguments are refused unless the role takes them") {
  FlagSet f = make_flags();
  auto err = f.parse(args({"stray"}));
  REQUIRE(err.has_value());
  CHECK(err->code == FlagError::unexpected_argument);
  CHECK(err->message() == "unexpected argument \"stray\": this role takes only flags");

  FlagSet g = make_flags();
  g.set_positional("ADDR", 1);
  REQUIRE_FALSE(g.parse(args({"-stat", "addr1"})).has_value());
  CHECK(g.positional() == std::vector<std::string>{"addr1"});
  FlagSet h = make_flags();
  h.set_positional("ADDR", 1);
  CHECK(h.parse(args({"a", "b"})).has_value());
}

TEST_CASE("a double dash ends the flags") {
  FlagSet f = make_flags();
  f.set_positional("ARGS", 2);
  REQUIRE_FALSE(f.parse(args({"-stat", "--", "-broker=x"})).has_value());
  CHECK(f.positional() == std::vector<std::string>{"-broker=x"});
  CHECK_FALSE(f.is_set("broker"));
}

TEST_CASE("the environment supplies a value the command line did not") {
  FlagSet f = make_flags();
  REQUIRE_FALSE(f.parse(args({}), fake_env).has_value());
  CHECK(f.get_string("relay") == "127.0.0.1:7000");
  FlagSet g = make_flags();
  REQUIRE_FALSE(g.parse(args({"-relay=127.0.0.2:7001"}), fake_env).has_value());
  CHECK(g.get_string("relay") == "127.0.0.2:7001");
}

TEST_CASE("usage lists every flag with its default and environment variable") {
  FlagSet f = make_flags();
  std::string u = f.usage("Does a test.");
  CHECK(u.find("usage: peermq test [flags]") == 0);
  CHECK(u.find("-broker=ADDR") != std::string::npos);
  CHECK(u.find("-prefetch=N") != std::string::npos);
  CHECK(u.find("(default 16)") != std::string::npos);
  CHECK(u.find("[$PEERMQ_RELAY]") != std::string::npos);
  CHECK(u.find("-h, --help") != std::string::npos);
}
