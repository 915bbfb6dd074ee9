#include "web_node.hpp"

#include <vector>

#include "log/log.hpp"
#include "mq/mq_error.hpp"
#include "service/broker_client.hpp"

namespace peermq::web {
namespace {

using emscripten::val;

std::vector<std::uint8_t> bytes_of(const val& v) {
  return emscripten::convertJSArrayToNumberVector<std::uint8_t>(v);
}

val view_of(std::span<const std::uint8_t> bytes) {
  return val(emscripten::typed_memory_view(bytes.size(), bytes.data()));
}

std::optional<PublicKey> parse_key(const std::string& text) {
  auto a = Address::parse(text);
  if (!a) return std::nullopt;
  return a->public_key();
}

overlay::HostOptions host_options(const std::optional<PublicKey>& relay) {
  overlay::HostOptions o;
  // A tab has no address of its own to punch to: its one way is the relay.
  o.router.punch = false;
  if (relay) o.router.relays.push_back({*relay, Endpoint::web(0), "the serving node"});
  return service::client_host_options(o);
}

}  // namespace

WebNode::WebNode(Identity identity, std::optional<PublicKey> relay, val send)
    : identity_(std::move(identity)),
      relay_(relay),
      transport_(std::move(send)),
      host_(identity_, transport_, executor_, nullptr, counters_, host_options(relay)),
      timer_(executor_.make_alarm()) {
  host_.on_wake([this] { arm(); });
  host_.on_message([this](const PublicKey& from, std::span<const std::uint8_t> message) {
    if (!on_message_.isUndefined()) on_message_(Address(from).to_string(), view_of(message));
  });
}

std::string WebNode::opened() {
  if (closed_) return "closed";
  transport_.set_open(true);
  if (!started_) {
    std::string detail;
    if (auto s = host_.start(&detail); !s) return detail.empty() ? s.error().message() : detail;
    started_ = true;
  } else if (relay_) {
    // A new connection: the relay sees us at a new web endpoint. A handshake from it now
    // moves our session (and with it the registration) there without waiting for a timer.
    host_.rehandshake(*relay_);
  }
  end_turn();
  return "";
}

void WebNode::closed() {
  transport_.set_open(false);
  report_state();
}

void WebNode::receive(const val& bytes) {
  if (!started()) return;
  const std::vector<std::uint8_t> datagram = bytes_of(bytes);
  const Instant now = executor_.now();
  host_.on_datagram(datagram, Endpoint::web(0), now);
  host_.on_batch_end(now);
  end_turn();
}

std::string WebNode::add_peer(const std::string& peer) {
  auto key = parse_key(peer);
  if (!key) return "not an address: " + peer;
  host_.add_peer(*key, Endpoint::web(0));
  return "";
}

std::string WebNode::send(const std::string& peer, const val& bytes) {
  auto key = parse_key(peer);
  if (!key) return "not an address: " + peer;
  auto sent = host_.send(*key, bytes_of(bytes));
  host_.flush();
  arm();
  return sent ? "" : sent.error().message();
}

void WebNode::on_message(val callback) {
  on_message_ = std::move(callback);
}

std::string WebNode::client_error(const std::string& broker, std::optional<PublicKey>& key) {
  if (!started()) return "the node is not connected yet (or closed)";
  if (consumer_ || producer_) return "this node runs a client already: open another node";
  key = parse_key(broker);
  if (!key) return "not a broker address: " + broker;
  return "";
}

std::string WebNode::consume(const std::string& broker, const val& commands,
                             const std::string& name, val on_delivery, val on_refused) {
  std::optional<PublicKey> key;
  if (auto why = client_error(broker, key); !why.empty()) return why;
  service::ConsumerClientOptions options{*key, {}};
  options.consumer.name = name.empty() ? "browser" : name;
  options.consumer.commands = emscripten::vecFromJSArray<std::string>(commands);
  consumer_.emplace(host_, std::move(options));
  consumer_->on_delivery([on_delivery](const mq::Deliver& d) {
    on_delivery(std::to_string(d.tag), std::string(d.command), view_of(d.payload),
                Address(d.producer).to_string(), d.delivery_count);
  });
  consumer_->on_refused([on_refused](std::string_view why) {
    PEERMQ_LOG(warn, "consumer", "refused by the broker: %.*s", static_cast<int>(why.size()),
               why.data());
    // The CLI's words (api/consumer.cpp), so a page shows what `peermq consumer` prints.
    on_refused("the broker refused this consumer: " + std::string(why));
  });
  std::string detail;
  if (auto s = consumer_->start(&detail); !s) return detail;
  end_turn();
  return "";
}

std::string WebNode::answer(const std::string& tag, const val& payload) {
  if (!consumer_) return "no consumer";
  auto done = consumer_->answer(std::stoull(tag), bytes_of(payload));
  consumer_->flush();
  arm();
  return done ? "" : done.error().message();
}

std::string WebNode::reject(const std::string& tag, bool requeue, const std::string& reason) {
  if (!consumer_) return "no consumer";
  auto done = consumer_->reject(std::stoull(tag), requeue, reason);
  consumer_->flush();
  arm();
  return done ? "" : done.error().message();
}

std::string WebNode::produce(const std::string& broker, val on_event) {
  std::optional<PublicKey> key;
  if (auto why = client_error(broker, key); !why.empty()) return why;
  producer_.emplace(executor_, host_, service::ProducerClientOptions{*key, {}});
  producer_->on_event([on_event](const mq::ProducerEvent& e) {
    static constexpr const char* kKinds[] = {"none",   "ready",  "refused",
                                             "confirmed", "answer", "failed"};
    const auto kind = static_cast<std::size_t>(e.kind);
    if (e.kind == mq::ProducerEvent::Kind::none) return;
    const bool answered = e.kind != mq::ProducerEvent::Kind::answer ||
                          e.status == mq::AnswerStatus::answered;
    on_event(std::string(answered ? kKinds[kind] : "failed"), std::to_string(e.id),
             view_of(e.payload), std::string(e.text));
  });
  producer_->on_wake([on_event] { on_event(std::string("wake"), std::string(), val::null(), std::string()); });
  std::string detail;
  if (auto s = producer_->start(&detail); !s) return detail;
  end_turn();
  return "";
}

val WebNode::publish(const std::string& command, const val& payload) {
  val out = val::object();
  if (!producer_) {
    out.set("error", std::string("no producer"));
    return out;
  }
  const std::vector<std::uint8_t> bytes = bytes_of(payload);
  mq::PublishRequest request;
  request.command = command;
  request.payload = bytes;
  auto id = producer_->publish(request);
  host_.flush();
  arm();
  if (id) {
    out.set("id", std::to_string(*id));
  } else {
    out.set("error", id.error().message());
    out.set("retry", id.error() == mq::MqError::would_block);
  }
  return out;
}

void WebNode::close() noexcept {
  if (closed_) return;
  if (consumer_) consumer_->stop();
  if (producer_) producer_->stop();
  host_.stop();
  timer_->stop();
  closed_ = true;
  transport_.set_open(false);
}

void WebNode::end_turn() {
  executor_.end_turn();
  // What the host queued during the turn leaves now, as the UDP socket's batch does at the
  // end of a libuv read.
  transport_.flush();
  arm();
  report_state();
}

void WebNode::arm() {
  if (!started()) return;
  const Instant next = host_.next_deadline();
  if (next == armed_at_) return;
  armed_at_ = next;
  if (next == Instant::max()) {
    timer_->stop();
    return;
  }
  timer_->start_at(next, [this] {
    armed_at_ = Instant::max();
    host_.on_timeout(executor_.now());
    end_turn();
  });
}

void WebNode::report_state() {
  const char* now = !transport_.is_open()                              ? "disconnected"
                    : !relay_ || host_.router().relays_registered() > 0 ? "connected"
                                                                        : "connecting";
  if (state_ == now) return;
  state_ = now;
  if (!on_state_.isUndefined()) on_state_(state_);
}

}  // namespace peermq::web
