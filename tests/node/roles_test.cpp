// The network roles of the real binary as users' scripts meet them: each prints
// `address: ADDR` (its own address) as its first line, before anything it prints about the
// network (issue 12, point 5). A broker, a consumer, a producer, a ping and a relay on
// 127.0.0.1, finding each other through a PEERMQ_RUNTIME_DIR of their own; every process
// is a ChildProcess, killed and reaped when the test ends, and every wait is bounded.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace {

namespace fs = std::filesystem;
using peermq::test::ChildProcess;
using peermq::test::TempDir;
using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::chrono::milliseconds limit(std::chrono::milliseconds ms) {
  return kSanitized ? 3 * ms : ms;
}

bool is_address_line(const std::string& line) {
  static const std::regex re("^address: [a-z2-7]{56}$");
  return std::regex_match(line, re);
}

class Roles {
 public:
  Roles() : dir_("peermq-roles"), env_{{"PEERMQ_RUNTIME_DIR", (dir_.path() / "run").string()}} {}

  ChildProcess& start(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), PEERMQ_BINARY);
    children_.push_back(std::make_unique<ChildProcess>(name, dir_.path(), std::move(args), env_));
    return *children_.back();
  }
  // `peermq keygen` for a key file of the test's: the address a role using it must print.
  std::string keygen(const std::string& name) {
    ChildProcess& k = start("keygen-" + name, {"keygen", "-key=" + key(name)});
    auto status = k.wait_for(limit(15s));
    REQUIRE_MESSAGE((status && status->exited_with(0)), "keygen " << name << " failed");
    const auto lines = k.stdout_lines();
    REQUIRE(lines.size() == 1);
    return lines.front();
  }
  std::string key(const std::string& name) const { return (dir_.path() / (name + ".key")).string(); }
  std::string path(const std::string& leaf) const { return (dir_.path() / leaf).string(); }

  std::string report() {
    std::string r = "test directory: " + dir_.path().string() + "\n";
    for (auto& c : children_) r += c->report();
    return r;
  }

 private:
  TempDir dir_;  // first: it outlives the children, whose destructors kill them
  ChildProcess::Env env_;
  std::deque<std::unique_ptr<ChildProcess>> children_;
};

// The stdout lines of `p` once it has printed `lines` of them (or ended, or 30 s passed).
std::vector<std::string> wait_lines(ChildProcess& p, std::size_t lines) {
  (void)peermq::test::wait_until([&] { return p.stdout_lines().size() >= lines || !p.running(); },
                                 limit(30s));
  return p.stdout_lines();
}

}  // namespace

TEST_CASE("every network role prints its own address as its first line, then its work") {
  Roles r;
  INFO(r.report());
  const std::string broker_line = r.keygen("broker");
  const std::string consumer_line = r.keygen("consumer");
  const std::string producer_line = r.keygen("producer");
  const std::string ping_line = r.keygen("ping");
  const std::string relay_line = r.keygen("relay");
  const std::string broker = broker_line.substr(9);

  ChildProcess& b = r.start("broker", {"broker", "-data=" + r.path("data"), "-key=" + r.key("broker"),
                                       "-listen=127.0.0.1:0"});
  ChildProcess& relay = r.start("relay", {"relay", "-key=" + r.key("relay"), "-listen=127.0.0.1:0"});
  REQUIRE(b.wait_for_line([](const std::string& l) {
    return l.find("listening on") != std::string::npos;
  }, limit(15s), true));
  ChildProcess& c = r.start("consumer", {"consumer", "-broker=" + broker, "-key=" + r.key("consumer"),
                                         "-listen=127.0.0.1:0"});
  ChildProcess& p = r.start("producer", {"producer", "-broker=" + broker, "-key=" + r.key("producer"),
                                         "-listen=127.0.0.1:0", "-count=2", "-timeout=30"});
  ChildProcess& ping = r.start("ping", {"ping", broker, "-key=" + r.key("ping"),
                                        "-listen=127.0.0.1:0", "-count=1", "-wait=10"});

  const auto producer_status = p.wait_for(limit(40s));
  REQUIRE_MESSAGE(producer_status, "the producer did not finish");
  CHECK(producer_status->exited_with(0));
  const auto ping_status = ping.wait_for(limit(20s));
  REQUIRE_MESSAGE(ping_status, "ping did not finish");
  CHECK(ping_status->exited_with(0));

  struct Expect {
    ChildProcess* process;
    std::string address_line;
    std::size_t lines;  // at least, the address included
    const char* second;  // what the second line starts with (nullptr: there is none yet)
  };
  for (const Expect& e : {Expect{&b, broker_line, 1, nullptr},
                          Expect{&relay, relay_line, 1, nullptr},
                          Expect{&c, consumer_line, 3, "message "},
                          Expect{&p, producer_line, 5, "answer "},
                          Expect{&ping, ping_line, 3, "reply seq=1 path=direct endpoint=127.0.0.1:"}}) {
    CAPTURE(e.process->name());
    const auto lines = wait_lines(*e.process, e.lines);
    REQUIRE(lines.size() >= e.lines);
    CHECK(is_address_line(lines.front()));
    CHECK(lines.front() == e.address_line);  // its own: the key file's
    CHECK(std::count_if(lines.begin(), lines.end(), is_address_line) == 1);
    if (e.second != nullptr) CHECK(lines[1].starts_with(e.second));
  }
  CHECK(p.stdout_lines().back() == "answers: 2/2");
  CHECK(ping.stdout_lines().back().starts_with("pings: 1 sent, 1 received, path=direct"));
}

TEST_CASE("a role whose key file cannot be used prints no address and exits 1") {
  Roles r;
  INFO(r.report());
  (void)r.keygen("open");
  REQUIRE(::chmod(r.key("open").c_str(), 0644) == 0);
  const std::string broker = r.keygen("broker").substr(9);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"broker", "-data=" + r.path("data")},
        std::vector<std::string>{"consumer", "-broker=" + broker},
        std::vector<std::string>{"producer", "-broker=" + broker},
        std::vector<std::string>{"relay"}, std::vector<std::string>{"ping", broker}}) {
    const std::string role = args.front();
    CAPTURE(role);
    args.push_back("-key=" + r.key("open"));
    args.push_back("-listen=127.0.0.1:0");
    ChildProcess& child = r.start(role, args);
    const auto status = child.wait_for(limit(15s));
    REQUIRE(status);
    CHECK(status->exited_with(1));
    CHECK(child.stdout_text().empty());
    CHECK(child.stderr_text().find("chmod 600 " + r.key("open")) != std::string::npos);
  }
}
