#include "command_line.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace cli = peermq::cli;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args) {
  std::ostringstream out, err;
  cli::Io io{out, err, nullptr};
  int code = cli::run(args, io);
  return {code, out.str(), err.str()};
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "peermq-cli-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("no role prints usage on stderr and exits 2") {
  Run r = run({});
  CHECK(r.code == cli::kExitUsage);
  CHECK(r.err.find("usage: peermq <role>") != std::string::npos);
}

TEST_CASE("-h lists every role and exits 0") {
  for (const char* h : {"-h", "--help", "-help"}) {
    Run r = run({h});
    CHECK(r.code == cli::kExitOk);
    for (const cli::Role& role : cli::roles()) CHECK(r.out.find(std::string(role.name)) != std::string::npos);
  }
}

TEST_CASE("an unknown role is named, with the list of roles, exit 2") {
  Run r = run({"brokr"});
  CHECK(r.code == cli::kExitUsage);
  CHECK(r.err.find("unknown role \"brokr\"") != std::string::npos);
  CHECK(r.err.find("keygen") != std::string::npos);
}

TEST_CASE("every role's -h lists its flags and exits 0") {
  for (const cli::Role& role : cli::roles()) {
    CAPTURE(role.name);
    Run r = run({std::string(role.name), "-h"});
    CHECK(r.code == cli::kExitOk);
    CHECK(r.out.find("usage: peermq " + std::string(role.name)) == 0);
    CHECK(r.out.find("-log=LEVEL") != std::string::npos);
  }
}

TEST_CASE("an unknown flag of a role is named, exit 2") {
  Run r = run({"keygen", "-kee=x"});
  CHECK(r.code == cli::kExitUsage);
  CHECK(r.err == "peermq keygen: unknown flag -kee (see 'peermq keygen -h')\n");
}

TEST_CASE("a bad log level is named with the accepted values, exit 2") {
  Run r = run({"keygen", "-log=loud"});
  CHECK(r.code == cli::kExitUsage);
  CHECK(r.err.find("\"loud\" for -log") != std::string::npos);
  CHECK(r.err.find("error, warn, info, debug, trace") != std::string::npos);
}

TEST_CASE("-version prints the version") {
  Run r = run({"-version"});
  CHECK(r.code == cli::kExitOk);
  CHECK(r.out.find("peermq 0.") == 0);
}

TEST_CASE("keygen creates a key file once and always prints the same address") {
  TempDir dir;
  std::string key = (dir.path / "node.key").string();
  Run first = run({"keygen", "-key=" + key});
  REQUIRE(first.code == cli::kExitOk);
  REQUIRE(first.out.rfind("address: ", 0) == 0);
  CHECK(first.out.size() == std::string("address: ").size() + 56 + 1);
  const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  CHECK((std::filesystem::status(key).permissions() & std::filesystem::perms::all) == owner_only);
  Run second = run({"keygen", "--key", key});
  REQUIRE(second.code == cli::kExitOk);
  CHECK(second.out == first.out);

  TempDir other;
  Run third = run({"keygen", "-key=" + (other.path / "node.key").string()});
  REQUIRE(third.code == cli::kExitOk);
  CHECK(third.out != first.out);
}

TEST_CASE("keygen refuses a key file readable by others and says how to fix it") {
  TempDir dir;
  std::string key = (dir.path / "node.key").string();
  REQUIRE(run({"keygen", "-key=" + key}).code == cli::kExitOk);
  std::filesystem::permissions(key, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  Run r = run({"keygen", "-key=" + key});
  CHECK(r.code == cli::kExitFailure);
  CHECK(r.out.empty());
  CHECK(r.err.find("chmod 600 " + key) != std::string::npos);
}
