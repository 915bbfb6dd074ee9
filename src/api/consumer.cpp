// peermq::Consumer over service::ConsumerClient (see consumer_client.hpp) on a platform::Node:
// each delivery becomes a Message and a Delivery handle (delivery_link.hpp) for the handler;
// a Reply handler's answer goes through the same handle at once.
#include <peermq/consumer.hpp>

#include <exception>
#include <optional>

#include "api/delivery_link.hpp"
#include "api/event_loop_impl.hpp"
#include "api/node_setup.hpp"
#include "api/stop_signal.hpp"
#include "mq/mq_message.hpp"
#include "platform/service_node.hpp"
#include "log/log.hpp"
#include "wire/limits.hpp"

namespace peermq {

namespace {

void apply(const Reply& reply, Delivery& delivery) {
  const auto bytes = reply.bytes();
  Result<void> sent =
      reply.is_reject()
          ? delivery.reject({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                            reply.requeue())
          : delivery.answer(bytes);
  if (!sent) {
    PEERMQ_LOG(warn, "consumer", "cannot answer message %llu: %s",
               static_cast<unsigned long long>(delivery.id()), sent.error().message().c_str());
  }
}

// A Reply handler as a DeliveryHandler that answers at once.
Consumer::DeliveryHandler answering(Consumer::Handler handler) {
  return [handler = std::move(handler)](const Message& m, Delivery delivery) {
    std::optional<Reply> reply;
    try {
      reply.emplace(handler(m));
    } catch (const std::exception& e) {
      PEERMQ_LOG(error, "consumer", "the message handler threw: %s", e.what());
      reply.emplace(Reply::reject(std::string("the consumer's handler failed: ") + e.what()));
    }
    apply(*reply, delivery);
  };
}

}  // namespace

struct Consumer::Impl {
  Impl(std::unique_ptr<EventLoop> own, EventLoop& shared, EventLoop::Impl& l,
       ConsumerOptions o)
      : own_loop(std::move(own)),
        loop(shared),
        loop_impl(l),
        options(std::move(o)),
        stop_signal(l.loop, [this] { shutdown(); }) {}
  ~Impl() { shutdown(); }

  Result<Address> load_identity(std::string* detail);
  Result<void> start(std::string* detail);
  void deliver(const mq::Deliver& d);
  void shutdown() noexcept {
    if (stopped) return;
    stopped = true;
    link->client = nullptr;  // handles still out hold nothing now: no reject before the bye
    if (running) running->stop();
  }
  void stop() noexcept {
    stop_signal.request();
  }

  std::unique_ptr<EventLoop> own_loop;  // first: everything below closes before it goes
  EventLoop& loop;
  EventLoop::Impl& loop_impl;
  ConsumerOptions options;
  DeliveryHandler handler;
  std::shared_ptr<Delivery::Link> link = std::make_shared<Delivery::Link>();
  Counters counters;
  std::optional<Identity> identity;
  std::optional<platform::ConsumerNode> running;
  service::ConsumerClient* client = nullptr;  // running's
  std::optional<std::string> refusal;  // the broker's words, once it refused us
  bool stopped = false;
  api::StopSignal stop_signal;
};

Result<void> Consumer::Impl::start(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (client) return {};  // started already (a stop() on its way ends the run() that follows)
  if (stop_signal.requested()) return QueueError::stopped;
  if (!handler) return api::invalid(detail, "no message handler: call on_message() or on_delivery() first");
  service::ConsumerClientOptions o;
  platform::NodeOptions node_options;
  auto broker = api::broker_key(options.broker, detail);
  if (!broker) return broker.error();
  o.broker = *broker;
  o.consumer.name = options.name;
  o.consumer.commands = options.commands;
  o.consumer.prefetch = options.prefetch;
  if (options.name.size() > limits::kMaxClientName) {
    return api::invalid(detail, "name: longer than " + std::to_string(limits::kMaxClientName) +
                                    " bytes");
  }
  if (options.prefetch < 1 || options.prefetch > kMaxPrefetch) {
    return api::invalid(detail,
                        "prefetch: expected 1.." + std::to_string(limits::kMaxPrefetch));
  }
  if (options.commands.size() > limits::kMaxSubscriptions) {
    return api::invalid(detail, "commands: more than " +
                                    std::to_string(limits::kMaxSubscriptions));
  }
  for (const std::string& command : options.commands) {
    if (!mq::valid_command(command)) {
      return api::invalid(detail, "command \"" + command +
                                      "\": use printable characters but spaces and '*'");
    }
  }
  if (auto node = api::set_node_options(node_options, options.listen, options.relays,
                                         options.discovery_dir, detail);
      !node) {
    return node;
  }
  if (auto id = load_identity(detail); !id) return id.error();

  running.emplace(loop_impl.loop, counters, *identity, std::move(node_options), std::move(o));
  client = &running->client();
  link->client = client;
  client->on_delivery([this](const mq::Deliver& d) { deliver(d); });
  client->on_refused([this](std::string_view why) {
    refusal = std::string(why);
    stop();  // on the next iteration, outside the transport's callback
  });
  if (auto started = running->start(detail); !started) {
    link->client = nullptr;
    running.reset();
    client = nullptr;
    return started;
  }
  return {};
}

Result<Address> Consumer::Impl::load_identity(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (!identity) {
    auto id = api::client_identity(options.key_file, detail);
    if (!id) return id.error();
    identity.emplace(std::move(id).value());
  }
  return identity->address();
}

void Consumer::Impl::deliver(const mq::Deliver& d) {
  Message m{d.message_id, Address(d.producer), d.command, d.payload, d.delivery_count,
            d.priority};
  try {
    handler(m, Delivery::Link::make(link, d.tag, d.message_id));
  } catch (const std::exception& e) {
    PEERMQ_LOG(error, "consumer", "the message handler threw: %s", e.what());
  }
}

Consumer::Consumer(ConsumerOptions options) {
  auto own = std::make_unique<EventLoop>();
  EventLoop& loop = *own;
  impl_ = std::make_unique<Impl>(std::move(own), loop, *loop.impl_, std::move(options));
}

Consumer::Consumer(EventLoop& loop, ConsumerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, loop, *loop.impl_, std::move(options))) {}

Consumer::~Consumer() = default;

void Consumer::on_message(Handler handler) {
  impl_->handler = handler ? answering(std::move(handler)) : DeliveryHandler{};
}

void Consumer::on_delivery(DeliveryHandler handler) {
  impl_->handler = std::move(handler);
}

Result<Address> Consumer::load_identity(std::string* detail) {
  return impl_->load_identity(detail);
}

Result<void> Consumer::start(std::string* detail) {
  return impl_->start(detail);
}

Result<void> Consumer::run(std::string* detail) {
  // After a refusal the client has stopped: run() still says why.
  if (auto started = impl_->start(detail); !started && !impl_->refusal) return started;
  if (auto ran = impl_->loop_impl.run_until([this] { return impl_->stopped; }); !ran) return ran;
  if (impl_->refusal) {
    if (detail != nullptr) *detail = "the broker refused this consumer: " + *impl_->refusal;
    return QueueError::refused;
  }
  return {};
}

void Consumer::stop() noexcept {
  impl_->stop();
}

Address Consumer::address() const {
  return impl_->identity ? impl_->identity->address() : Address(PublicKey{});
}

bool Consumer::connected() const noexcept {
  return impl_->client && !impl_->stopped && impl_->client->ready() &&
         !impl_->client->core().is_refused();
}

const Counters& Consumer::counters() const noexcept {
  return impl_->counters;
}

EventLoop& Consumer::loop() noexcept {
  return impl_->loop;
}

}  // namespace peermq
