#include "runtime/node.hpp"

#include <array>
#include <chrono>

#include "runtime/log.hpp"
#include "wire/limits.hpp"

namespace peermq::runtime {

Node::Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options)
    : loop_(loop),
      identity_(identity),
      options_(std::move(options)),
      transport_(loop, identity, counters, options_.transport),
      tick_(loop) {}

Result<void> Node::start(std::string* detail) {
  if (auto bound = transport_.bind(options_.listen); !bound) {
    if (detail != nullptr) {
      *detail = "cannot listen on " + options_.listen.to_string() + ": " + bound.error().message() +
                " (choose another -listen=IP:PORT)";
    }
    return bound.error();
  }
  auto dir = LocalDirectory::open(options_.discovery_dir, detail);
  if (!dir) return dir.error();
  directory_.emplace(std::move(*dir));
  if (options_.announce) announce();
  tick_.start(limits::node_redial_interval, limits::node_redial_interval, [this] { on_tick(); });
  return {};
}

// What nodes on this host should dial: loopback when we listen on every address.
void Node::announce() {
  Endpoint e = transport_.local_endpoint();
  if (e == Endpoint::v4({0, 0, 0, 0}, e.port())) {
    e = Endpoint::v4({127, 0, 0, 1}, e.port());
  } else if (e == Endpoint::v6({}, e.port())) {
    std::array<std::uint8_t, 16> loopback{};
    loopback[15] = 1;
    e = Endpoint::v6(loopback, e.port());
  }
  std::string detail;
  if (!directory_->announce(identity_, {to_source_address(e)}, std::chrono::system_clock::now(),
                            &detail)) {
    PEERMQ_LOG(warn, "node", "cannot announce this node for local discovery: %s", detail.c_str());
    return;
  }
  announced_ = true;
  announced_at_ = loop_.now();
}

Result<void> Node::resolve(const PublicKey& peer, std::string* detail) {
  if (!directory_) return TransportError::not_bound;
  auto found = directory_->lookup(peer, std::chrono::system_clock::now(), detail);
  if (!found) return found.error();
  const Endpoint where = to_endpoint(found->endpoints.front());
  const channel::Channel* existing = transport_.channel(peer);
  if (existing == nullptr || transport_.endpoint_of(peer) != where) {
    PEERMQ_LOG(debug, "node", "found a peer at %s", where.to_string().c_str());
    transport_.add_peer(peer, where);
  }
  return {};
}

Result<void> Node::dial(const PublicKey& peer, std::string* detail) {
  dialed_.insert(peer);
  return resolve(peer, detail);
}

void Node::on_tick() {
  // Keeps the record fresh: it expires, so a crashed node's file stops being used.
  if (options_.announce && loop_.now() - announced_at_ >= limits::local_discovery_interval) {
    announce();
  }
  for (const PublicKey& peer : dialed_) (void)resolve(peer, nullptr);
}

void Node::stop() noexcept {
  tick_.stop();
  if (announced_ && directory_) directory_->withdraw(identity_.public_key());
  announced_ = false;
  transport_.close();
}

}  // namespace peermq::runtime
