// peermq::Broker over service::BrokerService (see broker_service.hpp) on a platform::Node: options checked and
// turned into the service's, the identity and access list loaded, and a thread-safe stop.
#include <peermq/broker.hpp>

#include <filesystem>
#include <optional>

#include "api/event_loop_impl.hpp"
#include "api/node_setup.hpp"
#include "api/stop_signal.hpp"
#include "platform/service_node.hpp"
#include "log/log.hpp"
#include "storage/segment_log.hpp"

namespace peermq {

namespace {

storage::SyncPolicy to_runtime(SyncPolicy p) {
  switch (p) {
    case SyncPolicy::always: return storage::SyncPolicy::always;
    case SyncPolicy::batch: return storage::SyncPolicy::batch;
    case SyncPolicy::none: return storage::SyncPolicy::none;
  }
  return storage::SyncPolicy::always;
}

}  // namespace

struct Broker::Impl {
  Impl(std::unique_ptr<EventLoop> own, EventLoop& shared, EventLoop::Impl& l, BrokerOptions o)
      : own_loop(std::move(own)),
        loop(shared),
        loop_impl(l),
        options(std::move(o)),
        stop_signal(l.loop, [this] { shutdown(); }) {}
  ~Impl() { shutdown(); }

  Result<Address> load_identity(std::string* detail);
  Result<void> start(std::string* detail);
  void shutdown() noexcept {
    if (stopped) return;
    stopped = true;
    if (running) running->stop();
  }

  std::unique_ptr<EventLoop> own_loop;  // first: everything below closes before it goes
  EventLoop& loop;
  EventLoop::Impl& loop_impl;
  BrokerOptions options;
  Counters counters;
  std::optional<Identity> identity;
  std::optional<platform::BrokerNode> running;
  service::BrokerService* service = nullptr;  // running's
  std::string failure;  // the log's, once it failed
  bool stopped = false;
  api::StopSignal stop_signal;
};

Result<void> Broker::Impl::start(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (service) return {};  // started already (a stop() on its way ends the run() that follows)
  if (stop_signal.requested()) return QueueError::stopped;
  service::BrokerServiceOptions o;
  platform::NodeOptions node_options;
  o.data_dir = options.data_dir;
  o.log.sync = to_runtime(options.sync);
  o.broker.visibility_timeout = options.visibility_timeout;
  o.broker.max_deliveries = options.max_deliveries;
  o.broker.max_messages = options.max_messages;
  if (options.data_dir.empty()) return api::invalid(detail, "no data_dir: name a directory");
  if (options.visibility_timeout <= Duration::zero() || options.max_deliveries < 1 ||
      options.max_deliveries > 255 || options.max_messages < 1 || !o.broker.validate()) {
    return api::invalid(detail,
                        "visibility_timeout must be positive, max_deliveries 1..255 and "
                        "max_messages at least 1");
  }
  if (auto node = api::set_node_options(node_options, options.listen, options.relays,
                                         options.discovery_dir, detail);
      !node) {
    return node;
  }
  if (auto web = api::set_web_options(node_options, options.web, detail); !web) return web;
  // A page reaches nothing but the node that serves it, so a broker that serves browsers
  // is their relay too, for them only (HostOptions::relay_for_web): a browser registers
  // with it and dials the broker's address, which is that relay's own, straight over its
  // WebSocket. The broker stays an ordinary node for UDP peers: no open relay, and its
  // own -relay list still applies.
  node_options.host.relay_for_web = node_options.web.has_value();

  if (auto id = load_identity(detail); !id) return id.error();
  if (!options.access_list.empty()) {
    auto list = service::read_access_list(options.access_list, detail);
    if (!list) return list.error();
    o.broker.access = std::move(*list);
  } else {
    PEERMQ_LOG(warn, "broker",
               "no access list: this broker is open, anyone who knows its address may produce "
               "and consume");
  }
  running.emplace(loop_impl.loop, counters, *identity, std::move(node_options), std::move(o));
  service = &running->service();
  service->on_failure([this](const std::string& why) {
    failure = why;
    stop_signal.request();  // stops on the next iteration, outside the log's callback
  });
  if (auto started = running->start(detail); !started) {
    running.reset();
    service = nullptr;
    return started;
  }
  PEERMQ_LOG(info, "broker", "listening on %s",
             running->node().local_endpoint().to_string().c_str());
  return {};
}

Result<Address> Broker::Impl::load_identity(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (identity) return identity->address();
  if (options.data_dir.empty()) return api::invalid(detail, "no data_dir: name a directory");
  // The directory first, with the process's own mode: the key file would make it 0700.
  const std::filesystem::path data_dir = options.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    if (detail != nullptr) {
      *detail = "cannot create the data directory " + data_dir.string() + ": " + ec.message();
    }
    return ec;
  }
  const std::string key_file =
      options.key_file.empty() ? (data_dir / "broker.key").string() : options.key_file;
  auto id = load_or_create_key_file(key_file, nullptr, detail);
  if (!id) return id.error();
  identity.emplace(std::move(id).value());
  return identity->address();
}

Broker::Broker(BrokerOptions options) {
  auto own = std::make_unique<EventLoop>();
  EventLoop& loop = *own;
  impl_ = std::make_unique<Impl>(std::move(own), loop, *loop.impl_, std::move(options));
}

Broker::Broker(EventLoop& loop, BrokerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, loop, *loop.impl_, std::move(options))) {}

Broker::~Broker() = default;

Result<Address> Broker::load_identity(std::string* detail) {
  return impl_->load_identity(detail);
}

Result<void> Broker::start(std::string* detail) {
  return impl_->start(detail);
}

Result<void> Broker::run(std::string* detail) {
  if (auto started = impl_->start(detail); !started) return started;
  if (auto ran = impl_->loop_impl.run_until([this] { return impl_->stopped; }); !ran) return ran;
  if (!impl_->failure.empty()) {
    if (detail != nullptr) *detail = impl_->failure;
    return QueueError::storage_failed;
  }
  return {};
}

void Broker::stop() noexcept {
  impl_->stop_signal.request();
}

Address Broker::address() const {
  return impl_->identity ? impl_->identity->address() : Address(PublicKey{});
}

std::string Broker::web_url() const {
  if (!serving()) return {};
  const platform::WebListener* web = impl_->running->node().web();
  return web != nullptr ? web->url() : std::string();
}

std::string Broker::endpoint() const {
  if (!serving()) return {};
  return impl_->running->node().local_endpoint().to_string();
}

bool Broker::serving() const noexcept {
  return impl_->service && impl_->service->serving();
}

BrokerStats Broker::stats() const {
  BrokerStats out;
  if (!impl_->service) return out;
  const auto s = impl_->service->broker().stats();
  out.stored_messages = s.stored_messages;
  out.ready = s.ready;
  out.in_flight = s.in_flight;
  out.dead_letters = s.dead_letters;
  out.stored_answers = s.stored_answers;
  out.consumers = s.consumers;
  out.producers = s.producers;
  out.store_memory_bytes = s.store_memory_bytes;
  out.index_memory_bytes = s.index_memory_bytes;
  const auto& l = impl_->service->log().stats();
  out.fsyncs = l.fsyncs;
  out.records_per_fsync = l.records_per_fsync();
  out.segments = l.segments;
  return out;
}

const Counters& Broker::counters() const noexcept {
  return impl_->counters;
}

EventLoop& Broker::loop() noexcept {
  return impl_->loop;
}

}  // namespace peermq
