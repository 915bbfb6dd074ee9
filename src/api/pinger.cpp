// peermq::Pinger over a platform::Node: overlay pings to the target (Host::ping), their
// pongs matched to the time each ping left, and the target's route as a public Path.
#include <peermq/pinger.hpp>

#include <map>
#include <optional>

#include "api/event_loop_impl.hpp"
#include "api/node_setup.hpp"
#include "api/stop_signal.hpp"
#include "log/log.hpp"
#include "platform/node.hpp"

namespace peermq {

const char* to_string(PathKind kind) noexcept {
  switch (kind) {
    case PathKind::none: return "none";
    case PathKind::relayed: return "relayed";
    case PathKind::direct: return "direct";
  }
  return "unknown";
}

struct Pinger::Impl {
  Impl(std::unique_ptr<EventLoop> own, EventLoop& shared, PingerOptions o)
      : own_loop(std::move(own)),
        loop(shared),
        loop_impl(EventLoop::Impl::of(shared)),
        options(std::move(o)),
        stop_signal(loop_impl.loop, [this] { shutdown(); }) {}
  ~Impl() { shutdown(); }

  Result<Address> load_identity(std::string* detail);
  Result<void> start(std::string* detail);
  void on_pong(const PublicKey& from, std::uint64_t seq);
  Path path() const;
  void shutdown() noexcept {
    if (stopped) return;
    stopped = true;
    if (node) node->stop();
  }

  std::unique_ptr<EventLoop> own_loop;  // first: everything below closes before it goes
  EventLoop& loop;
  EventLoop::Impl& loop_impl;
  PingerOptions options;
  ReplyCallback on_reply;
  Counters counters;
  std::optional<Identity> identity;
  PublicKey target{};
  std::optional<platform::Node> node;
  std::map<std::uint64_t, Instant> sent;  // seq -> when it left, for `timeout`
  bool stopped = false;
  api::StopSignal stop_signal;
};

Result<Address> Pinger::Impl::load_identity(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (!identity) {
    auto id = api::client_identity(options.key_file, detail);
    if (!id) return id.error();
    identity.emplace(std::move(id).value());
  }
  return identity->address();
}

Result<void> Pinger::Impl::start(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (node) return {};  // started already (a stop() on its way ends the run() that follows)
  if (stop_signal.requested()) return QueueError::stopped;
  if (options.target.empty()) {
    return api::invalid(detail, "no target address: give the address of the node to ping");
  }
  std::size_t bad_at = 0;
  auto parsed = Address::parse(options.target, &bad_at);
  if (!parsed) {
    return api::invalid(detail, "target address: " +
                                    Address::explain(options.target, parsed.error(), bad_at));
  }
  if (options.timeout <= Duration::zero()) return api::invalid(detail, "timeout: must be positive");
  platform::NodeOptions node_options;
  if (auto set = api::set_node_options(node_options, options.listen, options.relays,
                                       options.discovery_dir, detail);
      !set) {
    return set;
  }
  node_options.host.router.announce = false;  // nobody dials a pinger
  if (auto id = load_identity(detail); !id) return id.error();
  target = parsed->public_key();
  node.emplace(loop_impl.loop, counters, *identity, std::move(node_options));
  if (auto started = node->start(detail); !started) {
    node.reset();
    return started;
  }
  node->host().on_pong([this](const PublicKey& from, std::uint64_t seq) { on_pong(from, seq); });
  std::string why;
  if (auto dialed = node->host().dial(target, &why); !dialed) {
    PEERMQ_LOG(info, "ping", "%s not found yet (%s); waiting for it", options.target.c_str(),
               dialed.error().message().c_str());
  }
  return {};
}

void Pinger::Impl::on_pong(const PublicKey& from, std::uint64_t seq) {
  auto it = sent.find(seq);
  if (from != target || it == sent.end()) return;
  PingReply reply;
  reply.seq = seq;
  reply.rtt = loop_impl.loop.now() - it->second;
  sent.erase(it);
  if (reply.rtt > options.timeout) return;
  reply.path = path();
  if (on_reply) EventLoop::Impl::call_guarded([&] { on_reply(reply); }, "a ping reply callback");
}

Path Pinger::Impl::path() const {
  Path out;
  if (!node) return out;
  const overlay::Route route = node->host().route_of(target);
  switch (route.kind) {
    case overlay::Route::Kind::none: return out;
    case overlay::Route::Kind::relayed: out.kind = PathKind::relayed; break;
    case overlay::Route::Kind::direct: out.kind = PathKind::direct; break;
  }
  out.endpoint = node->host().remote_endpoint_of(target).to_string();
  return out;
}

Pinger::Pinger(PingerOptions options) {
  auto own = std::make_unique<EventLoop>();
  EventLoop& loop = *own;
  impl_ = std::make_unique<Impl>(std::move(own), loop, std::move(options));
}

Pinger::Pinger(EventLoop& loop, PingerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, loop, std::move(options))) {}

Pinger::~Pinger() = default;

void Pinger::on_reply(ReplyCallback callback) {
  impl_->on_reply = std::move(callback);
}

Result<Address> Pinger::load_identity(std::string* detail) {
  return impl_->load_identity(detail);
}

Result<void> Pinger::start(std::string* detail) {
  return impl_->start(detail);
}

void Pinger::stop() noexcept {
  impl_->stop_signal.request();
}

Result<void> Pinger::ping(std::uint64_t seq) {
  Impl& impl = *impl_;
  if (impl.stopped || impl.stop_signal.requested()) return QueueError::stopped;
  if (!impl.node) return QueueError::not_started;
  const Instant now = impl.loop_impl.loop.now();
  // Forget pings whose replies would come too late anyway: the table stays small however
  // many go unanswered.
  for (auto it = impl.sent.begin(); it != impl.sent.end();) {
    it = now - it->second > impl.options.timeout ? impl.sent.erase(it) : std::next(it);
  }
  if (auto sent = impl.node->host().ping(impl.target, seq); !sent) return sent;
  impl.sent[seq] = now;
  return {};
}

Path Pinger::path() const {
  return impl_->path();
}

Address Pinger::address() const {
  return impl_->identity ? impl_->identity->address() : Address(PublicKey{});
}

const Counters& Pinger::counters() const noexcept {
  return impl_->counters;
}

EventLoop& Pinger::loop() noexcept {
  return impl_->loop;
}

}  // namespace peermq
