// SimDirectory: local discovery on one simulated machine, as an overlay::PeerDirectory.
//
// What LocalDirectory keeps in files of a per-user directory, this keeps in memory: one
// signed record per node, encoded and checked by the real code
// (overlay/local_announcement.hpp), so expiry, signatures and the key in the name are
// tested as on a real host. Every node of a machine shares the machine's SimDirectory; a
// node that crashes leaves its record behind, as a killed process leaves its file, until
// the record is too old to be believed.
//
// What it injects: fail_lookups(true) makes every lookup fail (an unreadable directory);
// the host must keep working through its relays.
// Single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "overlay/peer_directory.hpp"

namespace peermq::sim {

class SimDirectory final : public overlay::PeerDirectory {
 public:
  Result<void> announce(const Identity& me, const overlay::Candidates& endpoints, WallTime now,
                        std::string* detail) override;
  void withdraw(const PublicKey& me) noexcept override;
  Result<overlay::LocalAnnouncement> lookup(const PublicKey& peer, WallTime now,
                                            std::string* detail) override;

  void fail_lookups(bool on) noexcept { fail_lookups_ = on; }
  std::size_t size() const noexcept { return records_.size(); }
  std::uint64_t lookups() const noexcept { return lookups_; }

 private:
  std::map<PublicKey, std::vector<std::uint8_t>> records_;
  bool fail_lookups_ = false;
  std::uint64_t lookups_ = 0;
};

}  // namespace peermq::sim
