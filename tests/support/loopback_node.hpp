// LoopbackNode: a platform::Node on 127.0.0.1 (a port the kernel picks) with a scratch
// directory for local discovery, not announced: the host over real UDP, as the tests that
// need real sockets build it. `node->send(...)` reaches the host.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>

#include "overlay/host.hpp"
#include "platform/loop.hpp"
#include "platform/node.hpp"

namespace peermq::test {

// A directory removed when the test process ends (one per process).
inline const std::filesystem::path& scratch_discovery_dir() {
  struct Dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() /
        ("peermq-test-" + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Dir dir;
  return dir.path;
}

class LoopbackNode {
 public:
  // `identity` outlives the node (the host keeps a reference to sign its announcements).
  LoopbackNode(platform::Loop& loop, const Identity& identity, Counters& counters,
               overlay::HostOptions host = {})
      : node_(loop, counters, identity, options(std::move(host))) {}
  LoopbackNode(platform::Loop&, Identity&&, Counters&, overlay::HostOptions = {}) = delete;

  // Binds and starts; false (with the reason in detail()) on failure.
  bool start() { return node_.start(&detail_).ok(); }
  void stop() noexcept { node_.stop(); }
  Endpoint local_endpoint() const { return node_.local_endpoint(); }
  const std::string& detail() const noexcept { return detail_; }

  overlay::Host* operator->() noexcept { return &node_.host(); }
  overlay::Host& host() noexcept { return node_.host(); }

 private:
  static platform::NodeOptions options(overlay::HostOptions host) {
    platform::NodeOptions o;
    o.listen = Endpoint::v4({127, 0, 0, 1}, 0);
    o.discovery_dir = scratch_discovery_dir();
    o.host = std::move(host);
    o.host.router.announce = false;
    return o;
  }

  platform::Node node_;
  std::string detail_;
};

}  // namespace peermq::test
