#include "platform/node.hpp"

#include <uv.h>

#include "platform/sockaddr.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {

Node::Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options)
    : loop_(loop),
      identity_(identity),
      options_(std::move(options)),
      socket_(loop, counters, options_.udp),
      transport_(socket_),
      host_(identity, transport_, clock_, &directory_, counters, options_.host),
      timer_(loop) {
  socket_.on_receive([this](std::span<const std::uint8_t> data, const Endpoint& from) {
    // The datagrams of one read share one clock read.
    if (!read_at_) read_at_ = loop_.now();
    host_.on_datagram(data, from, *read_at_);
  });
  socket_.on_read_done([this] {
    read_at_.reset();
    host_.on_batch_end(loop_.now());
    arm();
  });
  // Work queued outside the loop's callbacks goes out on the next iteration, together.
  host_.on_wake([this] { arm(); });
}

Result<void> Node::start(std::string* detail) {
  if (auto bound = socket_.bind(options_.listen); !bound) {
    if (detail != nullptr) {
      *detail = "cannot listen on " + options_.listen.to_string() + ": " + bound.error().message() +
                " (choose another -listen=IP:PORT)";
    }
    return bound.error();
  }
  auto dir = LocalDirectory::open(options_.discovery_dir, detail);
  if (!dir) return dir.error();
  directory_.local.emplace(std::move(*dir));
  if (auto started = host_.start(detail); !started) return started;
  started_ = true;
  arm();
  return {};
}

void Node::stop() noexcept {
  host_.stop();
  timer_.stop();
  armed_at_ = Instant::max();
  socket_.close();
}

void Node::arm() {
  const Instant next = host_.next_deadline();
  if (next == armed_at_) return;
  if (next == Instant::max()) {
    timer_.stop();
    armed_at_ = next;
    return;
  }
  armed_at_ = next;
  timer_.start_at(next, [this] { on_timer(); });
}

void Node::on_timer() {
  armed_at_ = Instant::max();
  host_.on_timeout(loop_.now());
  arm();
}

// ---- the socket as a transport -------------------------------------------------------------

bool Node::UdpTransport::writable() {
  if (socket_.queued() < socket_.send_capacity()) return true;
  socket_.flush();
  return socket_.queued() < socket_.send_capacity();
}

Endpoint Node::UdpTransport::local_endpoint() const {
  auto e = socket_.local_endpoint();
  return e ? *e : Endpoint{};
}

std::vector<Endpoint> Node::UdpTransport::local_candidates() const {
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
      if (!e || e->is_v4() != bound.is_v4() || e->scope_id() != 0) continue;
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

// ---- the directory ---------------------------------------------------------------------------

Result<void> Node::Directory::announce(const Identity& me, const overlay::Candidates& endpoints,
                                       WallTime now, std::string* detail) {
  if (!local) return LocalDirectoryError::io;
  return local->announce(me, endpoints, now, detail);
}

void Node::Directory::withdraw(const PublicKey& me) noexcept {
  if (local) local->withdraw(me);
}

Result<overlay::LocalAnnouncement> Node::Directory::lookup(const PublicKey& peer, WallTime now,
                                                           std::string* detail) {
  if (!local) return LocalDirectoryError::not_found;
  return local->lookup(peer, now, detail);
}

}  // namespace peermq::platform
