#include "platform/web_listener.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <libwebsockets.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log/log.hpp"
#include "metrics/counter_registry.hpp"
#include "platform/content_type.hpp"
#include "platform/sockaddr.hpp"
#include "platform/web_message_assembler.hpp"
#include "platform/web_path.hpp"

namespace peermq::platform {

const char* describe(WebListenerError e) {
  switch (e) {
    case WebListenerError::cannot_listen:
      return "cannot listen for browsers on that address";
    case WebListenerError::unreadable_file:
      return "cannot read the certificate or key file";
    case WebListenerError::bad_certificate:
      return "the certificate or key is not usable (PEM files of one key pair are needed)";
    case WebListenerError::start_failed:
      return "libwebsockets could not start the web listener";
  }
  return "unknown web listener error";
}

namespace {

// Connection numbers of this process: from 1, never reused (Endpoint::web).
std::atomic<std::uint64_t> next_connection{1};

struct Metrics {
  Counter* connections;
  Gauge* open;
  Counter* rx_datagrams;
  Counter* tx_datagrams;
  Counter* dropped_oversized;
  Counter* dropped_malformed;
  Counter* dropped_queue_full;
  Counter* http_requests;
};

Metrics register_metrics(Counters& counters) {
  const CounterRegistry c(counters);
  return Metrics{
      &c.counter("web_connections_total", "WebSocket connections accepted on /peermq."),
      &c.gauge("web_connections", "WebSocket connections open now."),
      &c.counter("web_rx_datagrams_total", "Datagrams received in binary WebSocket messages."),
      &c.counter("web_tx_datagrams_total", "Datagrams sent in binary WebSocket messages."),
      &c.counter("web_dropped_oversized_total",
                 "WebSocket messages dropped: longer than the largest datagram."),
      &c.counter("web_dropped_malformed_total",
                 "WebSocket messages dropped: text, or empty."),
      &c.counter("web_dropped_queue_full_total",
                 "Datagrams not sent: the connection's send queue was full."),
      &c.counter("web_http_requests_total", "HTTP requests answered (files, JSON, 404)."),
  };
}

// One datagram waiting for its connection to be writable, with libwebsockets' headroom.
struct Outgoing {
  std::vector<std::uint8_t> bytes;  // LWS_PRE bytes, then the datagram
};

struct Connection {
  lws* wsi = nullptr;
  WebMessageAssembler assembler;
  std::deque<Outgoing> queue;
};

// libwebsockets' per-connection memory (zeroed by it), for HTTP and WebSocket alike.
struct Session {
  std::uint64_t number;  // the WebSocket connection's, 0 for plain HTTP
  bool json_pending;     // GET /peermq.json: headers sent, the body is due
};

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);

const lws_protocols kProtocols[] = {
    // The first protocol takes HTTP and every WebSocket upgrade without a subprotocol,
    // which is how a page opens `new WebSocket(url)`.
    {"peermq", callback, sizeof(Session), limits::kWebMaxDatagram, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

void lws_log_line(int level, const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (level & LLL_ERR) {
    PEERMQ_LOG(warn, "web", "libwebsockets: %.*s", static_cast<int>(text.size()), text.data());
  } else {
    PEERMQ_LOG(debug, "web", "libwebsockets: %.*s", static_cast<int>(text.size()), text.data());
  }
}

// errno of binding a TCP listener to `at` (0: it can be bound), so that a port in use is
// told as such: libwebsockets only says that it failed.
int probe_listen(const Endpoint& at) {
  sockaddr_storage address{};
  const socklen_t length = to_sockaddr(at, address, false);
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int error = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 || ::listen(fd, 1) != 0)
    error = errno;
  ::close(fd);
  return error;
}

// errno of opening `file` for reading (0: readable).
int probe_read(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return errno;
  std::fclose(f);
  return 0;
}

}  // namespace

struct WebListener::State {
  State(Loop& l, Counters& counters, WebOptions o)
      : loop(l), options(std::move(o)), metrics(register_metrics(counters)) {}

  Loop& loop;
  WebOptions options;
  Metrics metrics;
  lws_context* context = nullptr;
  std::uintptr_t id = 0;  // its number in the live listeners (below), while listening
  Endpoint bound;
  bool closing = false;
  std::unordered_map<std::uint64_t, Connection> connections;
  ReceiveCallback on_receive;
  ReadDoneCallback on_read_done;

  int on_http(lws* wsi, Session& session, std::string_view path);
  int on_http_writeable(lws* wsi, Session& session);
  void on_established(lws* wsi, Session& session);
  void on_receive_piece(lws* wsi, const Session& session, std::span<const std::uint8_t> piece);
  int on_writeable(lws* wsi, const Session& session);
  void on_closed(const Session& session);
};

namespace {

// GET /peermq.json and files under the root; everything else 404.
int answer_status(lws* wsi, unsigned status) {
  if (lws_return_http_status(wsi, status, nullptr) != 0) return -1;
  return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
}

// The listeners that are listening, by a number that libwebsockets carries as its
// context's user pointer. On a foreign loop, libwebsockets goes on calling back after
// lws_context_destroy(), from the close callbacks of its libuv handles on later turns of
// the loop, when the listener and its State may be gone: those calls find no number here
// and get the default handling. Numbers are never reused, so a later listener at the same
// address is not mistaken for a gone one.
std::mutex live_mutex;
std::unordered_map<std::uintptr_t, WebListener::State*> live_listeners;
std::uintptr_t next_live_id = 1;

std::uintptr_t add_live(WebListener::State* state) {
  std::lock_guard lock(live_mutex);
  live_listeners.emplace(next_live_id, state);
  return next_live_id++;
}

void remove_live(std::uintptr_t id) {
  std::lock_guard lock(live_mutex);
  live_listeners.erase(id);
}

WebListener::State* live_state(const void* user) {
  std::lock_guard lock(live_mutex);
  auto it = live_listeners.find(reinterpret_cast<std::uintptr_t>(user));
  return it == live_listeners.end() ? nullptr : it->second;
}

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
  WebListener::State* state = live_state(lws_context_user(lws_get_context(wsi)));
  auto* session = static_cast<Session*>(user);
  if (state == nullptr || state->closing || session == nullptr)
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  switch (reason) {
    case LWS_CALLBACK_HTTP:
      return state->on_http(wsi, *session, std::string_view(static_cast<const char*>(in), len));
    case LWS_CALLBACK_HTTP_WRITEABLE:
      return state->on_http_writeable(wsi, *session);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
      // Only the WebSocket path upgrades.
      char uri[64] = {};
      if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0) return 1;
      return std::string_view(uri) == limits::kWebPath ? 0 : 1;
    }
    case LWS_CALLBACK_ESTABLISHED:
      state->on_established(wsi, *session);
      return 0;
    case LWS_CALLBACK_RECEIVE:
      state->on_receive_piece(wsi, *session,
                              std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(in), len));
      return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
      return state->on_writeable(wsi, *session);
    case LWS_CALLBACK_CLOSED:
      state->on_closed(*session);
      return 0;
    default:
      return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

}  // namespace

int WebListener::State::on_http(lws* wsi, Session& session, std::string_view path) {
  metrics.http_requests->inc();
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) return answer_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
  if (path == limits::kWebInfoPath) {
    std::uint8_t buffer[LWS_PRE + 512];
    std::uint8_t* start = buffer + LWS_PRE;
    std::uint8_t* p = start;
    std::uint8_t* end = buffer + sizeof buffer - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json",
                                    options.info_json.size(), &p, end) != 0 ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     reinterpret_cast<const unsigned char*>("no-store"), 8, &p,
                                     end) != 0 ||
        lws_finalize_write_http_header(wsi, start, &p, end) != 0) {
      return -1;
    }
    session.json_pending = true;
    lws_callback_on_writable(wsi);
    return 0;
  }
  const std::optional<std::string> relative = web_file_path(path);
  if (!relative) return answer_status(wsi, HTTP_STATUS_NOT_FOUND);
  const std::filesystem::path file = options.root / *relative;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return answer_status(wsi, HTTP_STATUS_NOT_FOUND);
  const std::string type(content_type_of(*relative));
  const int served = lws_serve_http_file(wsi, file.c_str(), type.c_str(), nullptr, 0);
  if (served < 0) return -1;  // libwebsockets closes the connection
  if (served > 0 && lws_http_transaction_completed(wsi) != 0) return -1;
  return 0;
}

int WebListener::State::on_http_writeable(lws* wsi, Session& session) {
  if (!session.json_pending) return 0;
  session.json_pending = false;
  std::vector<std::uint8_t> body(LWS_PRE + options.info_json.size());
  std::memcpy(body.data() + LWS_PRE, options.info_json.data(), options.info_json.size());
  if (lws_write(wsi, body.data() + LWS_PRE, options.info_json.size(), LWS_WRITE_HTTP_FINAL) !=
      static_cast<int>(options.info_json.size())) {
    return -1;
  }
  return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
}

void WebListener::State::on_established(lws* wsi, Session& session) {
  session.number = next_connection.fetch_add(1);
  connections[session.number].wsi = wsi;
  metrics.connections->inc();
  metrics.open->set(static_cast<std::int64_t>(connections.size()));
  PEERMQ_LOG(debug, "web", "WebSocket connection %llu opened",
             static_cast<unsigned long long>(session.number));
}

void WebListener::State::on_receive_piece(lws* wsi, const Session& session,
                                          std::span<const std::uint8_t> piece) {
  auto it = connections.find(session.number);
  if (it == connections.end()) return;
  const WebMessageAssembler::Piece p{piece, lws_is_first_fragment(wsi) != 0,
                                     lws_is_final_fragment(wsi) != 0, lws_frame_is_binary(wsi) != 0};
  switch (it->second.assembler.feed(p)) {
    case WebMessageAssembler::Outcome::partial: return;
    case WebMessageAssembler::Outcome::dropped_malformed: metrics.dropped_malformed->inc(); return;
    case WebMessageAssembler::Outcome::dropped_oversized: metrics.dropped_oversized->inc(); return;
    case WebMessageAssembler::Outcome::datagram: break;
  }
  metrics.rx_datagrams->inc();
  // The callbacks may send (and so touch `connections`): pass a copy of the name.
  const Endpoint from = Endpoint::web(session.number);
  if (on_receive) on_receive(it->second.assembler.datagram(), from);
  if (on_read_done) on_read_done();
}

int WebListener::State::on_writeable(lws* wsi, const Session& session) {
  auto it = connections.find(session.number);
  if (it == connections.end() || it->second.queue.empty()) return 0;
  Outgoing out = std::move(it->second.queue.front());
  it->second.queue.pop_front();
  const std::size_t size = out.bytes.size() - LWS_PRE;
  if (lws_write(wsi, out.bytes.data() + LWS_PRE, size, LWS_WRITE_BINARY) != static_cast<int>(size))
    return -1;  // the connection is broken: libwebsockets closes it
  metrics.tx_datagrams->inc();
  // One write per writeable callback, as libwebsockets requires.
  if (!it->second.queue.empty()) lws_callback_on_writable(wsi);
  return 0;
}

void WebListener::State::on_closed(const Session& session) {
  if (connections.erase(session.number) == 0) return;
  metrics.open->set(static_cast<std::int64_t>(connections.size()));
  PEERMQ_LOG(debug, "web", "WebSocket connection %llu closed",
             static_cast<unsigned long long>(session.number));
}

// ---- the listener ------------------------------------------------------------------------------

WebListener::WebListener(Loop& loop, Counters& counters, WebOptions options)
    : state_(std::make_unique<State>(loop, counters, std::move(options))) {}

WebListener::~WebListener() {
  close();
}

void WebListener::on_receive(ReceiveCallback callback) {
  state_->on_receive = std::move(callback);
}

void WebListener::on_read_done(ReadDoneCallback callback) {
  state_->on_read_done = std::move(callback);
}

Result<void> WebListener::listen(std::string* detail) {
  State& s = *state_;
  if (s.context != nullptr) return {};
  const WebOptions& o = s.options;
  const std::string where = o.listen.to_string();
  const auto fail = [&](WebListenerError e, const std::string& why) -> std::error_code {
    if (detail != nullptr) *detail = why;
    return e;
  };
  if (const int error = probe_listen(o.listen); error != 0) {
    return fail(WebListenerError::cannot_listen,
                "cannot listen for browsers on " + where + ": " + std::strerror(error) +
                    (error == EADDRINUSE ? " (another program uses that port: choose another -web=IP:PORT)"
                                         : " (choose another -web=IP:PORT)"));
  }
  const bool tls = !o.cert_file.empty();
  for (const std::filesystem::path* file : {&o.cert_file, &o.key_file}) {
    if (!tls) break;
    if (const int error = probe_read(*file); error != 0) {
      return fail(WebListenerError::unreadable_file,
                  "cannot read " + file->string() + ": " + std::strerror(error) +
                      " (give -web-cert and -web-key readable PEM files)");
    }
  }

  static const bool logging = [] {
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    return true;
  }();
  (void)logging;

  // An address to bind, or any (nullptr: libwebsockets then listens on every address).
  std::string iface;
  if (!o.listen.is_unspecified()) {
    iface = o.listen.to_string();
    iface = iface.substr(0, iface.rfind(':'));
    if (!iface.empty() && iface.front() == '[') iface = iface.substr(1, iface.size() - 2);
  }
  void* loops[] = {s.loop.raw()};
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  if (o.listen.is_v4() && iface.empty()) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  info.foreign_loops = loops;
  // The loop's signals are the node's (platform/signal_watcher.hpp), not libwebsockets'.
  info.signal_cb = [](void*, int) {};
  info.port = o.listen.port();
  info.iface = iface.empty() ? nullptr : iface.c_str();
  info.protocols = kProtocols;
  info.vhost_name = "peermq";
  s.id = add_live(&s);
  info.user = reinterpret_cast<void*>(s.id);
  const std::string cert = o.cert_file.string();
  const std::string key = o.key_file.string();
  if (tls) {
    info.ssl_cert_filepath = cert.c_str();
    info.ssl_private_key_filepath = key.c_str();
  }
  s.closing = false;
  s.context = lws_create_context(&info);
  if (s.context == nullptr) {
    remove_live(s.id);
    return tls ? fail(WebListenerError::bad_certificate,
                      "cannot serve https on " + where + " with " + cert + " and " + key +
                          ": libwebsockets refused the certificate or key (PEM files of one "
                          "key pair are needed; see the log)")
               : fail(WebListenerError::start_failed,
                      "cannot listen for browsers on " + where +
                          ": libwebsockets could not start (see the log)");
  }
  lws_vhost* vhost = lws_get_vhost_by_name(s.context, "peermq");
  const int port = vhost != nullptr ? lws_get_vhost_listen_port(vhost) : -1;
  if (port <= 0 || port > 0xFFFF) {
    close();
    return fail(WebListenerError::start_failed,
                "cannot listen for browsers on " + where + ": no listening port");
  }
  s.bound = o.listen.with_port(static_cast<std::uint16_t>(port));
  return {};
}

void WebListener::close() noexcept {
  State& s = *state_;
  if (s.context == nullptr) return;
  // libwebsockets closes every connection now and its libuv handles on later turns of the
  // loop; none of its callbacks reaches this State any more (live_state).
  remove_live(s.id);
  s.closing = true;
  s.connections.clear();
  s.metrics.open->set(0);
  lws_context* context = s.context;
  lws_context_destroy(context);
  // On a foreign loop the first call closes the connections and starts closing lws's
  // handles; the second, once they are closed, frees the context (and its TLS state).
  s.loop.at_destroy([context] { lws_context_destroy(context); });
  s.context = nullptr;
  s.bound = Endpoint{};
}

bool WebListener::send(const Endpoint& to, std::span<const std::uint8_t> datagram) {
  State& s = *state_;
  auto it = s.connections.find(to.web_connection());
  if (s.closing || !to.is_web() || it == s.connections.end() || datagram.empty() ||
      datagram.size() > limits::kWebMaxDatagram) {
    return false;
  }
  Connection& c = it->second;
  if (c.queue.size() >= s.options.send_queue) {
    s.metrics.dropped_queue_full->inc();
    return false;
  }
  Outgoing out;
  out.bytes.resize(LWS_PRE + datagram.size());
  std::memcpy(out.bytes.data() + LWS_PRE, datagram.data(), datagram.size());
  c.queue.push_back(std::move(out));
  if (c.queue.size() == 1) lws_callback_on_writable(c.wsi);
  return true;
}

bool WebListener::listening() const noexcept {
  return state_->context != nullptr;
}

Endpoint WebListener::local_endpoint() const {
  return state_->bound;
}

std::string WebListener::url() const {
  if (!listening()) return {};
  const bool tls = !state_->options.cert_file.empty();
  return std::string(tls ? "https://" : "http://") + state_->bound.to_string() + "/";
}

std::size_t WebListener::connection_count() const noexcept {
  return state_->connections.size();
}

}  // namespace peermq::platform
