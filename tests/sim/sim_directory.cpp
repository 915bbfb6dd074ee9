#include "sim/sim_directory.hpp"

#include "overlay/local_announcement.hpp"
#include "overlay/overlay_error.hpp"

namespace peermq::sim {

Result<void> SimDirectory::announce(const Identity& me, const overlay::Candidates& endpoints,
                                    WallTime now, std::string* /*detail*/) {
  records_[me.public_key()] = overlay::encode_local_announcement(me, endpoints, now);
  return {};
}

void SimDirectory::withdraw(const PublicKey& me) noexcept {
  records_.erase(me);
}

Result<overlay::LocalAnnouncement> SimDirectory::lookup(const PublicKey& peer, WallTime now,
                                                        std::string* detail) {
  ++lookups_;
  auto it = records_.find(peer);
  if (fail_lookups_ || it == records_.end()) {
    if (detail != nullptr) *detail = "no such node on this simulated machine";
    return overlay::OverlayError::not_found;
  }
  auto record = overlay::decode_local_announcement(it->second, peer, now);
  if (!record && detail != nullptr) *detail = record.error().message();
  return record;
}

}  // namespace peermq::sim
