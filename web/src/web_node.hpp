// WebNode: one peermq node in a browser tab, the browser's counterpart of
// platform/node.hpp and platform/service_node.hpp: an overlay::Host on a
// WebSocketTransport, driven by a WebExecutor, with the relay that served the page as its
// only relay, and at most one ConsumerClient or ProducerClient on it. A thin driver: every
// protocol decision is the host's and the clients'; JavaScript (web/page/peermq.js) only
// moves bytes and timers.
//
//   JS WebSocket message --> receive() --> Host::on_datagram(bytes, web(0)), on_batch_end
//   Host --> WebSocketTransport --> JS send(view)
//   Alarm at Host::next_deadline() --> Host::on_timeout
//
// Each call from JS is one turn: it ends with the executor's turn hooks, the host's
// deadline re-armed and the connection state reported when it changed. Errors come back
// as a sentence ("" for none), not as exceptions, which embind would not carry.
// Threads: the page's one.
#pragma once

#include <emscripten/val.h>

#include <optional>
#include <string>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>

#include "overlay/host.hpp"
#include "service/consumer_client.hpp"
#include "service/producer_client.hpp"
#include "web_executor.hpp"
#include "websocket_transport.hpp"

namespace peermq::web {

class WebNode {
 public:
  using val = emscripten::val;

  // `relay`: the serving node's address, or empty for a node without relays (tests wire
  // two of those together with add_peer). `send(view)` puts one datagram on the socket.
  WebNode(Identity identity, std::optional<PublicKey> relay, val send);
  ~WebNode() { close(); }
  WebNode(const WebNode&) = delete;
  WebNode& operator=(const WebNode&) = delete;

  // ---- from the socket ----
  std::string opened();
  void closed();
  void receive(const val& bytes);
  // 'connecting', 'connected' (open, and registered with the relay), 'disconnected'.
  void on_state(val callback) { on_state_ = std::move(callback); }

  // ---- the node's use ----
  std::string address() const { return identity_.address().to_string(); }
  // The node's counters as text, as `peermq ... -stats` prints them: for diagnostics.
  std::string counters() const { return counters_.to_text(); }
  // Reached directly at the socket's other end (no relay): two tabs' hosts wired in a test.
  std::string add_peer(const std::string& peer);
  // Raw host messages, for a node without clients: on_message(fromAddress, view).
  std::string send(const std::string& peer, const val& bytes);
  void on_message(val callback);

  // A consumer of `commands` at `broker`: on_delivery(tag, command, payloadView,
  // producerAddress, deliveryCount); answer or reject each tag once, then or later.
  // on_refused(sentence) when the broker refuses us (its access list does not allow it).
  std::string consume(const std::string& broker, const val& commands, const std::string& name,
                      val on_delivery, val on_refused);
  std::string answer(const std::string& tag, const val& payload);
  std::string reject(const std::string& tag, bool requeue, const std::string& reason);
  // Says bye: the broker requeues what was held and delivers no more. The node stays.
  void stop_consumer() noexcept {
    if (consumer_) consumer_->stop();
  }
  // A producer at `broker`: on_event(kind, id, payloadView, text) with kind 'ready',
  // 'refused', 'confirmed', 'answer', 'failed', or 'wake' (publish what waits).
  std::string produce(const std::string& broker, val on_event);
  // {id} or {error, retry}: retry when the in-flight window is full (wait for 'wake').
  val publish(const std::string& command, const val& payload);

  // Says bye to the broker and stops the host. Idempotent.
  void close() noexcept;

 private:
  bool started() const noexcept { return started_ && !closed_; }
  std::string client_error(const std::string& broker, std::optional<PublicKey>& key);
  void end_turn();
  void arm();
  void report_state();

  Identity identity_;  // before host_, which keeps a reference
  std::optional<PublicKey> relay_;
  WebExecutor executor_;
  Counters counters_;
  WebSocketTransport transport_;
  overlay::Host host_;
  std::unique_ptr<service::Alarm> timer_;
  Instant armed_at_ = Instant::max();
  std::optional<service::ConsumerClient> consumer_;
  std::optional<service::ProducerClient> producer_;
  val on_state_ = val::undefined();
  val on_message_ = val::undefined();
  std::string state_ = "connecting";
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace peermq::web
