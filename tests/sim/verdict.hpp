// Verdict: what the checkers found wrong in one simulated run. Checkers and scenarios add
// failures; the seed runner (sim_seeds.hpp) turns a run with any into a failed seed and
// prints them with the command that replays it. Plain data.
#pragma once

#include <string>
#include <vector>

namespace peermq::sim {

class Verdict {
 public:
  void fail(std::string what) { failures_.push_back(std::move(what)); }
  // Adds `what` as a failure unless `ok`; returns `ok`.
  bool expect(bool ok, const std::string& what) {
    if (!ok) fail(what);
    return ok;
  }
  bool ok() const noexcept { return failures_.empty(); }
  const std::vector<std::string>& failures() const noexcept { return failures_; }

 private:
  std::vector<std::string> failures_;
};

}  // namespace peermq::sim
