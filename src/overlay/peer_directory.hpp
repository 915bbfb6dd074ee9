// PeerDirectory: how nodes on one host find each other by address alone, with no relay
// and no server. The platform's LocalDirectory keeps signed records in files of a per-user
// runtime directory (runtime/local_directory.hpp); the simulator keeps them in memory per
// simulated machine. The record and its checks are overlay/local_announcement.hpp.
//
// Calls are synchronous (a small file read or write on the platform) and may fail; a
// failed lookup only means "not on this host", the host keeps trying.
#pragma once

#include <string>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/local_announcement.hpp"

namespace peermq::overlay {

class PeerDirectory {
 public:
  virtual ~PeerDirectory() = default;
  // Publishes where `me` can be reached, replacing its earlier record. `detail` gets the
  // reason on failure.
  virtual Result<void> announce(const Identity& me, const Candidates& endpoints, WallTime now,
                                std::string* detail) = 0;
  // Removes `me`'s record (a clean exit).
  virtual void withdraw(const PublicKey& me) noexcept = 0;
  // The checked record of `peer`; an error when there is none, or none that checks out.
  virtual Result<LocalAnnouncement> lookup(const PublicKey& peer, WallTime now,
                                           std::string* detail) = 0;

 protected:
  PeerDirectory() = default;
  PeerDirectory(const PeerDirectory&) = default;
  PeerDirectory& operator=(const PeerDirectory&) = default;
};

}  // namespace peermq::overlay
