// SimBroker: the real service::BrokerService in a simulated process: on a SimNode's host,
// a SimExecutor of its own, and a SimDisk that outlives its crashes (the machine's disk).
//
//   crash()    the process dies, then the power goes: the disk keeps only what was synced
//              (SimDisk::crash) and nothing the dying process had queued leaves it.
//   restart()  crash(), then a new process: same key, same port, the log recovered from
//              the disk, as `peermq broker` after a kill -9 and a reboot.
//   kill()     the process dies, the disk stays (kill -9 without a power cut).
//   stop()     a clean exit (the log written and synced).
// Single-threaded. The world outlives it.
#pragma once

#include <optional>
#include <string>

#include "service/broker_service.hpp"
#include "sim/sim_disk.hpp"
#include "sim/sim_executor.hpp"
#include "sim/sim_node.hpp"
#include "sim/sim_world.hpp"

namespace peermq::sim {

struct SimBrokerOptions {
  service::BrokerServiceOptions service{};  // data_dir defaults to /broker
  SimDiskOptions disk{};
  SimExecutorOptions executor{};
};

class SimBroker {
 public:
  SimBroker(SimWorld& world, SimNode& node, SimBrokerOptions options);
  ~SimBroker() { crash(); }
  SimBroker(const SimBroker&) = delete;
  SimBroker& operator=(const SimBroker&) = delete;

  // Recovers the log and serves; `detail` says why not.
  Result<void> start(std::string* detail = nullptr);
  void stop() noexcept;
  void crash() noexcept;
  // kill -9: the process dies, the operating system keeps what it had written (the disk
  // does not crash); start() again to recover.
  void kill() noexcept;
  Result<void> restart(std::string* detail = nullptr);

  bool running() const noexcept { return service_.has_value(); }
  bool failed() const noexcept { return failed_; }
  SimNode& node() noexcept { return node_; }
  SimDisk& disk() noexcept { return disk_; }
  const PublicKey& key() const noexcept { return node_.key(); }
  service::BrokerService& service() { return *service_; }
  std::uint64_t runs() const noexcept { return runs_; }

 private:
  SimWorld& world_;
  SimNode& node_;
  SimBrokerOptions options_;
  SimDisk disk_;
  std::optional<SimExecutor> executor_;
  std::optional<service::BrokerService> service_;
  std::uint64_t runs_ = 0;
  bool failed_ = false;
};

}  // namespace peermq::sim
