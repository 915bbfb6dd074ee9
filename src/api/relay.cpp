// peermq::Relay over a platform::Node whose host runs the relay server
// (HostOptions::relay): the identity loaded, listen checked, a thread-safe stop, and the
// relay server's figures as RelayStats.
#include <peermq/relay.hpp>

#include <optional>

#include "api/event_loop_impl.hpp"
#include "api/node_setup.hpp"
#include "api/stop_signal.hpp"
#include "overlay/overlay_error.hpp"
#include "platform/node.hpp"

namespace peermq {

struct Relay::Impl {
  Impl(std::unique_ptr<EventLoop> own, EventLoop& shared, RelayOptions o)
      : own_loop(std::move(own)),
        loop(shared),
        loop_impl(EventLoop::Impl::of(shared)),
        options(std::move(o)),
        stop_signal(loop_impl.loop, [this] { shutdown(); }) {}
  ~Impl() { shutdown(); }

  Result<Address> load_identity(std::string* detail);
  Result<void> start(std::string* detail);
  void shutdown() noexcept {
    if (stopped) return;
    stopped = true;
    if (node) node->stop();
  }

  std::unique_ptr<EventLoop> own_loop;  // first: everything below closes before it goes
  EventLoop& loop;
  EventLoop::Impl& loop_impl;
  RelayOptions options;
  Counters counters;
  std::optional<Identity> identity;
  std::optional<platform::Node> node;
  bool serving = false;
  bool stopped = false;
  api::StopSignal stop_signal;
};

Result<Address> Relay::Impl::load_identity(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (!identity) {
    auto id = api::client_identity(options.key_file, detail);
    if (!id) return id.error();
    identity.emplace(std::move(id).value());
  }
  return identity->address();
}

Result<void> Relay::Impl::start(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (serving) return {};  // started already (a stop() on its way ends the run() that follows)
  if (stop_signal.requested()) return QueueError::stopped;
  platform::NodeOptions node_options;
  if (auto set = api::set_node_options(node_options, options.listen, {}, options.discovery_dir,
                                       detail);
      !set) {
    return set;
  }
  if (auto web = api::set_web_options(node_options, options.web, detail); !web) return web;
  node_options.host.relay = true;
  if (auto id = load_identity(detail); !id) return id.error();
  node.emplace(loop_impl.loop, counters, *identity, std::move(node_options));
  if (auto started = node->start(detail); !started) {
    node.reset();
    return started;
  }
  serving = true;
  return {};
}

Relay::Relay(RelayOptions options) {
  auto own = std::make_unique<EventLoop>();
  EventLoop& loop = *own;
  impl_ = std::make_unique<Impl>(std::move(own), loop, std::move(options));
}

Relay::Relay(EventLoop& loop, RelayOptions options)
    : impl_(std::make_unique<Impl>(nullptr, loop, std::move(options))) {}

Relay::~Relay() = default;

Result<Address> Relay::load_identity(std::string* detail) {
  return impl_->load_identity(detail);
}

Result<void> Relay::start(std::string* detail) {
  return impl_->start(detail);
}

Result<void> Relay::run(std::string* detail) {
  if (auto started = impl_->start(detail); !started) return started;
  return impl_->loop_impl.run_until([this] { return impl_->stopped; });
}

void Relay::stop() noexcept {
  impl_->stop_signal.request();
}

Address Relay::address() const {
  return impl_->identity ? impl_->identity->address() : Address(PublicKey{});
}

std::string Relay::endpoint() const {
  if (!serving()) return {};
  return impl_->node->local_endpoint().to_string();
}

std::string Relay::web_url() const {
  if (!serving() || impl_->node->web() == nullptr) return {};
  return impl_->node->web()->url();
}

bool Relay::serving() const noexcept {
  return impl_->serving && !impl_->stopped;
}

RelayStats Relay::stats() const {
  RelayStats out;
  if (!impl_->node) return out;
  const overlay::RelayServer* server = impl_->node->host().relay_server();
  if (server == nullptr) return out;
  const auto& s = server->stats();
  out.registered = server->registered_count();
  out.forwarded_packets = s.forwarded_packets;
  out.forwarded_bytes = s.forwarded_bytes;
  out.lookups = s.lookups;
  out.punches = s.punches;
  for (std::size_t i = 1; i < s.drops.size(); ++i) {
    if (s.drops[i] == 0) continue;
    out.drops.push_back(
        {make_error_code(static_cast<overlay::OverlayError>(i)).message(), s.drops[i]});
  }
  return out;
}

const Counters& Relay::counters() const noexcept {
  return impl_->counters;
}

EventLoop& Relay::loop() noexcept {
  return impl_->loop;
}

}  // namespace peermq
