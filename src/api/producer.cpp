// peermq::Producer over service::ProducerClient (see producer_client.hpp) on a platform::Node: one callback per
// published message, kept by id until its answer (or its confirm, without want_answer), a
// failure, a refusal or stop() settles it; and request(), which runs the loop until one
// message is settled.
#include <peermq/producer.hpp>

#include <exception>
#include <optional>
#include <unordered_map>

#include "api/event_loop_impl.hpp"
#include "api/node_setup.hpp"
#include "api/stop_signal.hpp"
#include "mq/mq_error.hpp"
#include "log/log.hpp"
#include "platform/service_node.hpp"
#include "platform/timer.hpp"
#include "wire/limits.hpp"

namespace peermq {


const char* to_string(AnswerStatus status) noexcept {
  switch (status) {
    case AnswerStatus::answered: return "answered";
    case AnswerStatus::rejected: return "rejected";
    case AnswerStatus::dead_lettered: return "dead-lettered";
    case AnswerStatus::expired: return "expired";
    case AnswerStatus::stored: return "stored";
  }
  return "unknown";
}

namespace {

AnswerStatus to_public(mq::AnswerStatus s) {
  switch (s) {
    case mq::AnswerStatus::answered: return AnswerStatus::answered;
    case mq::AnswerStatus::rejected: return AnswerStatus::rejected;
    case mq::AnswerStatus::dead_lettered: return AnswerStatus::dead_lettered;
    case mq::AnswerStatus::expired: return AnswerStatus::expired;
  }
  return AnswerStatus::rejected;
}

// The public error for a core's refusal of a publish.
std::error_code to_public(std::error_code e) {
  if (e == mq::MqError::would_block) return QueueError::would_block;
  if (e == mq::MqError::refused) return QueueError::refused;
  if (e == mq::MqError::too_large) return QueueError::too_large;
  if (e == mq::MqError::bad_command || e == mq::MqError::bad_publish) {
    return QueueError::bad_message;
  }
  return e;
}

}  // namespace

struct Producer::Impl {
  struct Pending {
    AnswerCallback callback;
    bool want_answer = true;
    bool confirmed = false;  // on_confirm was told
  };

  Impl(std::unique_ptr<EventLoop> own, EventLoop& shared, EventLoop::Impl& l,
       ProducerOptions o)
      : own_loop(std::move(own)),
        loop(shared),
        loop_impl(l),
        options(std::move(o)),
        stop_signal(l.loop, [this] { shutdown(); }) {}
  ~Impl() {
    pending.clear();  // no callbacks from a destructor: what they use may be gone already
    shutdown();
  }

  Result<Address> load_identity(std::string* detail);
  Result<void> start(std::string* detail);
  Result<std::uint64_t> publish(std::string_view command, std::span<const std::uint8_t> payload,
                                AnswerCallback callback, const PublishOptions& options);
  void on_event(const mq::ProducerEvent& event);
  // Settles message `id` (if it is ours) with `outcome`.
  void settle(std::uint64_t id, Result<Answer> outcome);
  // Tells on_confirm, once per message.
  void confirm(Pending& p, std::uint64_t id);
  void fail_all(QueueError error);
  void shutdown() noexcept {
    if (stopped) return;
    stopped = true;
    if (running) running->stop();
    fail_all(QueueError::stopped);
  }
  void stop() noexcept {
    stop_signal.request();
  }

  std::unique_ptr<EventLoop> own_loop;  // first: everything below closes before it goes
  EventLoop& loop;
  EventLoop::Impl& loop_impl;
  ProducerOptions options;
  Counters counters;
  std::optional<Identity> identity;
  std::optional<platform::ProducerNode> running;
  service::ProducerClient* client = nullptr;  // running's
  std::unordered_map<std::uint64_t, Pending> pending;
  FailureCallback on_failure;
  ConfirmCallback on_confirm;
  std::optional<std::string> refusal;  // the broker's words, once it refused us
  bool stopped = false;
  api::StopSignal stop_signal;
};

Result<void> Producer::Impl::start(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (client) return {};  // started already (a stop() on its way ends the run() that follows)
  if (stop_signal.requested()) return QueueError::stopped;
  service::ProducerClientOptions o;
  platform::NodeOptions node_options;
  auto broker = api::broker_key(options.broker, detail);
  if (!broker) return broker.error();
  o.broker = *broker;
  if (options.name.size() > limits::kMaxClientName) {
    return api::invalid(detail, "name: longer than " + std::to_string(limits::kMaxClientName) +
                                    " bytes");
  }
  if (options.inflight < 1) return api::invalid(detail, "inflight: at least 1");
  o.producer.name = options.name;
  o.producer.max_inflight = options.inflight;
  if (auto node = api::set_node_options(node_options, options.listen, options.relays,
                                         options.discovery_dir, detail);
      !node) {
    return node;
  }
  if (auto id = load_identity(detail); !id) return id.error();

  running.emplace(loop_impl.loop, counters, *identity, std::move(node_options), std::move(o));
  client = &running->client();
  client->on_event([this](const mq::ProducerEvent& event) { on_event(event); });
  if (auto started = running->start(detail); !started) {
    running.reset();
    client = nullptr;
    return started;
  }
  return {};
}

Result<Address> Producer::Impl::load_identity(std::string* detail) {
  if (stopped) return QueueError::stopped;
  if (!identity) {
    auto id = api::client_identity(options.key_file, detail);
    if (!id) return id.error();
    identity.emplace(std::move(id).value());
  }
  return identity->address();
}

Result<std::uint64_t> Producer::Impl::publish(std::string_view command,
                                              std::span<const std::uint8_t> payload,
                                              AnswerCallback callback,
                                              const PublishOptions& o) {
  if (stopped || stop_signal.requested()) return QueueError::stopped;
  if (!client) return QueueError::not_started;
  if (refusal) return QueueError::refused;
  mq::PublishRequest request;
  request.command = command;
  request.payload = payload;
  request.ttl = o.ttl;
  request.priority = o.priority;
  request.want_answer = o.want_answer;
  auto id = client->publish(request);
  if (!id) return to_public(id.error());
  pending.emplace(*id, Pending{std::move(callback), o.want_answer});
  return id;
}

void Producer::Impl::settle(std::uint64_t id, Result<Answer> outcome) {
  auto it = pending.find(id);
  if (it == pending.end()) return;  // a duplicate, or a message from a previous life
  AnswerCallback callback = std::move(it->second.callback);
  pending.erase(it);
  if (!callback) return;
  try {
    callback(std::move(outcome));
  } catch (const std::exception& e) {
    PEERMQ_LOG(error, "producer", "an answer callback threw: %s", e.what());
  }
}

void Producer::Impl::confirm(Pending& p, std::uint64_t id) {
  if (p.confirmed) return;
  p.confirmed = true;
  if (!on_confirm) return;
  try {
    on_confirm(id);
  } catch (const std::exception& e) {
    PEERMQ_LOG(error, "producer", "a confirm callback threw: %s", e.what());
  }
}

void Producer::Impl::fail_all(QueueError error) {
  // Callbacks may publish (and fail at once): settle a snapshot.
  std::vector<std::uint64_t> ids;
  ids.reserve(pending.size());
  for (const auto& [id, p] : pending) ids.push_back(id);
  for (std::uint64_t id : ids) settle(id, error);
}

void Producer::Impl::on_event(const mq::ProducerEvent& event) {
  switch (event.kind) {
    case mq::ProducerEvent::Kind::answer: {
      // An answer overtaking its confirm: the broker stored the message all the same.
      if (auto it = pending.find(event.id); it != pending.end()) confirm(it->second, event.id);
      Answer a;
      a.id = event.id;
      a.status = to_public(event.status);
      a.payload.assign(event.payload.begin(), event.payload.end());
      a.reason = std::string(event.text);
      settle(event.id, std::move(a));
      break;
    }
    case mq::ProducerEvent::Kind::confirmed: {
      auto it = pending.find(event.id);
      if (it == pending.end()) break;
      confirm(it->second, event.id);  // may publish: `it` may be invalid after this
      it = pending.find(event.id);
      if (it == pending.end() || it->second.want_answer) break;
      Answer a;
      a.id = event.id;
      a.status = AnswerStatus::stored;
      settle(event.id, std::move(a));
      break;
    }
    case mq::ProducerEvent::Kind::failed: {
      const QueueError error = event.nack == mq::NackReason::not_allowed ? QueueError::not_allowed
                               : event.nack == mq::NackReason::too_large ? QueueError::too_large
                                                                         : QueueError::bad_message;
      if (on_failure) {
        try {
          on_failure(event.id, error, event.text);
        } catch (const std::exception& e) {
          PEERMQ_LOG(error, "producer", "a failure callback threw: %s", e.what());
        }
      }
      settle(event.id, error);
      break;
    }
    case mq::ProducerEvent::Kind::refused:
      refusal = std::string(event.text);
      fail_all(QueueError::refused);
      stop();  // on the next iteration, outside the transport's callback
      break;
    case mq::ProducerEvent::Kind::ready:
    case mq::ProducerEvent::Kind::none: break;
  }
}

Producer::Producer(ProducerOptions options) {
  auto own = std::make_unique<EventLoop>();
  EventLoop& loop = *own;
  impl_ = std::make_unique<Impl>(std::move(own), loop, *loop.impl_, std::move(options));
}

Producer::Producer(EventLoop& loop, ProducerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, loop, *loop.impl_, std::move(options))) {}

Producer::~Producer() = default;

void Producer::on_failure(FailureCallback callback) {
  impl_->on_failure = std::move(callback);
}

void Producer::on_confirm(ConfirmCallback callback) {
  impl_->on_confirm = std::move(callback);
}

Result<Address> Producer::load_identity(std::string* detail) {
  return impl_->load_identity(detail);
}

Result<void> Producer::start(std::string* detail) {
  return impl_->start(detail);
}

Result<void> Producer::run(std::string* detail) {
  // After a refusal the client has stopped: run() still says why.
  if (auto started = impl_->start(detail); !started && !impl_->refusal) return started;
  if (auto ran = impl_->loop_impl.run_until([this] { return impl_->stopped; }); !ran) return ran;
  if (impl_->refusal) {
    if (detail != nullptr) *detail = "the broker refused this producer: " + *impl_->refusal;
    return QueueError::refused;
  }
  return {};
}

void Producer::stop() noexcept {
  impl_->stop();
}

Result<std::uint64_t> Producer::publish(std::string_view command,
                                        std::span<const std::uint8_t> payload,
                                        AnswerCallback callback, PublishOptions options) {
  return impl_->publish(command, payload, std::move(callback), options);
}

Result<std::uint64_t> Producer::publish(std::string_view command, std::string_view payload,
                                        AnswerCallback callback, PublishOptions options) {
  return publish(command,
                 {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()},
                 std::move(callback), options);
}

Result<Answer> Producer::request(std::string_view command, std::span<const std::uint8_t> payload,
                                 Duration timeout, PublishOptions options) {
  Impl& impl = *impl_;
  if (impl.loop_impl.running.load()) return QueueError::loop_busy;
  if (auto started = impl.start(nullptr); !started) return started.error();

  platform::Loop& loop = impl.loop_impl.loop;
  bool expired = false;
  platform::Timer guard(loop);  // wakes the loop at the deadline
  guard.start(timeout, [&] { expired = true; });
  std::optional<Result<Answer>> outcome;
  std::optional<std::uint64_t> id;
  std::error_code publish_error;
  auto ran = impl.loop_impl.run_until([&] {
    if (!id) {
      auto published = impl.publish(
          command, payload, [&](Result<Answer> a) { outcome.emplace(std::move(a)); }, options);
      if (published) {
        id = *published;
      } else if (published.error() != QueueError::would_block) {
        publish_error = published.error();
        return true;
      }
    }
    return outcome.has_value() || expired || impl.stopped;
  });
  if (!ran) return ran.error();
  if (outcome) return std::move(*outcome);
  if (publish_error) return publish_error;
  if (id) impl.pending.erase(*id);  // its callback points into this frame
  return impl.stopped ? QueueError::stopped : QueueError::timed_out;
}

Result<Answer> Producer::request(std::string_view command, std::string_view payload,
                                 Duration timeout, PublishOptions options) {
  return request(command,
                 {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, timeout,
                 options);
}

Address Producer::address() const {
  return impl_->identity ? impl_->identity->address() : Address(PublicKey{});
}

bool Producer::connected() const noexcept {
  return impl_->client && !impl_->stopped && impl_->client->ready() &&
         !impl_->client->core().is_refused();
}

std::size_t Producer::in_flight() const noexcept {
  return impl_->client ? impl_->client->core().in_flight() : 0;
}

const Counters& Producer::counters() const noexcept {
  return impl_->counters;
}

EventLoop& Producer::loop() noexcept {
  return impl_->loop;
}

}  // namespace peermq
