// SimLog: the log lines of one simulated run, kept in memory with the virtual time and the
// node they came from in front:
//
//   [  12.345678 s relay1] 2026-01-01T00:00:12.345Z INFO  relay: 2 new nodes registered
//
// While it lives it is the process's log sink (runtime/log.hpp) at level
// PEERMQ_SIM_LOG (error|warn|info|debug|trace; info when unset), keeping the last
// `max_lines`; the seed runner prints the tail of a failed run. SimNode names itself
// around every call into its host (Scope), so each line says whose it is. Restores the
// previous sink and level when destroyed. Single-threaded; one at a time.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

#include "log/log.hpp"
#include "sim/sim_scheduler.hpp"

namespace peermq::sim {

class SimLog {
 public:
  explicit SimLog(const SimScheduler& scheduler, std::size_t max_lines = 4000);
  ~SimLog();
  SimLog(const SimLog&) = delete;
  SimLog& operator=(const SimLog&) = delete;

  // Names the source of the lines logged while it lives (nests; restores the outer name).
  class Scope {
   public:
    explicit Scope(const std::string& who) noexcept;
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const std::string* outer_;
  };

  const std::deque<std::string>& lines() const noexcept { return lines_; }
  // The last `n` lines, one string.
  std::string tail(std::size_t n) const;

 private:
  const SimScheduler& scheduler_;
  std::size_t max_lines_;
  std::deque<std::string> lines_;
  log::Sink previous_sink_;
  log::Level previous_level_;
};

}  // namespace peermq::sim
