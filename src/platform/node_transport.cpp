#include "platform/node_transport.hpp"

#include <uv.h>

#include "platform/sockaddr.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {

bool NodeTransport::send(const Endpoint& to, std::span<const std::uint8_t> bytes) {
  if (to.is_web()) return web_ != nullptr && web_->send(to, bytes);
  return socket_.send(to, bytes);
}

bool NodeTransport::writable() {
  if (socket_.queued() < socket_.send_capacity()) return true;
  socket_.flush();
  return socket_.queued() < socket_.send_capacity();
}

Endpoint NodeTransport::local_endpoint() const {
  auto e = socket_.local_endpoint();
  return e ? *e : Endpoint{};
}

std::vector<Endpoint> NodeTransport::local_candidates() const {
  const Endpoint bound = local_endpoint();
  std::vector<Endpoint> out;
  if (!bound.is_unspecified()) {
    out.push_back(bound);
    return out;
  }
  // Bound to every address: each interface's, loopback only if nothing else.
  uv_interface_address_t* ifaces = nullptr;
  int count = 0;
  if (uv_interface_addresses(&ifaces, &count) == 0) {
    for (int i = 0; i < count && out.size() < limits::kMaxEndpointCandidates; ++i) {
      if (ifaces[i].is_internal) continue;
      auto e = from_sockaddr(reinterpret_cast<const sockaddr*>(&ifaces[i].address));
      if (!e || e->is_v4() != bound.is_v4() || e->scope_id() != 0 || e->is_web()) continue;
      out.push_back(e->with_port(bound.port()));
    }
    uv_free_interface_addresses(ifaces, count);
  }
  if (out.empty()) {
    out.push_back(bound.is_v4()
                      ? Endpoint::v4({127, 0, 0, 1}, bound.port())
                      : Endpoint::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, bound.port()));
  }
  return out;
}

}  // namespace peermq::platform
