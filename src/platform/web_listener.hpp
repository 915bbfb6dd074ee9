// WebListener: where browsers reach a node: one TCP listener (HTTP, or HTTPS with a
// certificate) run by libwebsockets on the node's own libuv loop (a "foreign loop", no
// thread of its own). It serves
//   ws[s]://IP:PORT/peermq   one binary WebSocket message per sealed datagram, both ways
//   GET /peermq.json          the node's description for the page (platform/web_info.hpp)
//   GET /anything else        a file under the web root (platform/web_path.hpp), or 404
// and decides nothing about what the datagrams mean: what arrives goes to on_receive,
// named by Endpoint::web(n) for the n-th connection of this process (numbers start at 1
// and are never reused, so a late datagram for a closed connection finds nobody).
//
// Receiving: pieces of each message are joined by a WebMessageAssembler; text, empty,
// oversized (over limits::kWebMaxDatagram) messages are dropped whole and counted
// (web_dropped_malformed_total, web_dropped_oversized_total); the connection stays open.
// After each datagram, on_read_done, as a UDP read ends.
// Sending: send() copies the datagram into the connection's queue (at most
// options.send_queue datagrams; web_dropped_queue_full_total counts refusals) and it
// leaves when the socket is writable, on a later loop iteration.
//
// libwebsockets stays inside this file's .cpp: no header of ours includes it.
// Threads: the loop's. Lifetime: destroy before the Loop; close() (also the destructor)
// hands the context to libwebsockets to tear down on the loop, and nothing of ours is
// called after it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <peermq/counters.hpp>
#include <peermq/result.hpp>

#include "platform/loop.hpp"
#include "wire/endpoint.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {

enum class WebListenerError {
  cannot_listen = 1,  // the TCP address could not be bound (in use, not this host's)
  unreadable_file,    // the certificate or key file cannot be read
  bad_certificate,    // libwebsockets refused the certificate or key
  start_failed,       // libwebsockets could not start (see the log)
};
const char* describe(WebListenerError e);
inline const char* category_name(WebListenerError) {
  return "peermq.platform.web_listener";
}
PEERMQ_ERROR_ENUM(WebListenerError)

struct WebOptions {
  Endpoint listen = Endpoint::v4({127, 0, 0, 1}, 0);  // TCP IP:PORT; port 0: any free one
  // PEM files: both set, https:// and wss://; both empty, http:// and ws://.
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::filesystem::path root;  // served for GET (platform/web_root.hpp chooses it)
  std::string info_json;       // the body of GET /peermq.json
  std::size_t send_queue = limits::kWebSendQueueDatagrams;  // per connection
};

class WebListener {
 public:
  using ReceiveCallback =
      std::function<void(std::span<const std::uint8_t> datagram, const Endpoint& from)>;
  using ReadDoneCallback = std::function<void()>;

  WebListener(Loop& loop, Counters& counters, WebOptions options);
  ~WebListener();
  WebListener(const WebListener&) = delete;
  WebListener& operator=(const WebListener&) = delete;

  // The views are valid during the call only.
  void on_receive(ReceiveCallback callback);
  void on_read_done(ReadDoneCallback callback);

  // Binds and starts serving. `detail` gets a sentence for the user on failure.
  Result<void> listen(std::string* detail);
  // Closes every connection and the listener. Idempotent.
  void close() noexcept;

  // Queues a copy of `datagram` (1..kWebMaxDatagram bytes) for the connection `to` names.
  // False when `to` is no open connection of ours, or its queue is full.
  bool send(const Endpoint& to, std::span<const std::uint8_t> datagram);

  bool listening() const noexcept;
  // The bound TCP endpoint (the real port after port 0); Family::none when not listening.
  Endpoint local_endpoint() const;
  // "http://IP:PORT/" or "https://IP:PORT/"; empty when not listening.
  std::string url() const;
  std::size_t connection_count() const noexcept;

  struct State;  // the .cpp's, shared with libwebsockets' callbacks

 private:
  std::unique_ptr<State> state_;
};

}  // namespace peermq::platform

PEERMQ_ERROR_ENUM_STD(peermq::platform::WebListenerError)
