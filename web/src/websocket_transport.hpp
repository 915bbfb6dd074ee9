// WebSocketTransport: the host's DatagramTransport in a browser tab. The WebSocket itself
// is JavaScript's (web/page/peermq.js): one binary message carries one datagram each way.
// The only peer a tab can reach is the node that served the page, its relay, which the
// host names Endpoint::web(0); a datagram for any other endpoint is refused, and a tab has
// no candidates to offer for punching.
//
// send() queues a copy; flush() hands each queued datagram to the JS `send` function as a
// view into wasm memory, valid during the call only (JS copies it into its WebSocket).
// Threads: the page's one.
#pragma once

#include <emscripten/val.h>

#include <cstdint>
#include <span>
#include <vector>

#include "overlay/datagram_transport.hpp"

namespace peermq::web {

class WebSocketTransport final : public overlay::DatagramTransport {
 public:
  static constexpr std::size_t kQueueCapacity = 256;  // datagrams between two flushes

  explicit WebSocketTransport(emscripten::val send) : send_(std::move(send)) {}

  // The socket opened or closed (JS tells); a closed transport drops what it queued.
  void set_open(bool open) {
    open_ = open;
    if (!open) queue_.clear();
  }

  bool send(const Endpoint& to, std::span<const std::uint8_t> bytes) override {
    if (!open_ || to != Endpoint::web(0) || queue_.size() >= kQueueCapacity) return false;
    queue_.emplace_back(bytes.begin(), bytes.end());
    return true;
  }
  bool writable() override {
    if (queue_.size() >= kQueueCapacity) flush();
    return open_;
  }
  void flush() override {
    for (const auto& d : queue_) send_(emscripten::typed_memory_view(d.size(), d.data()));
    queue_.clear();
  }
  bool is_open() const override { return open_; }
  Endpoint local_endpoint() const override { return open_ ? Endpoint::web(0) : Endpoint{}; }
  std::vector<Endpoint> local_candidates() const override { return {}; }

 private:
  emscripten::val send_;
  std::vector<std::vector<std::uint8_t>> queue_;
  bool open_ = false;
};

}  // namespace peermq::web
