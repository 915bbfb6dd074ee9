// A relay node with -web on a real libuv loop, and a WebSocket client written with
// libwebsockets' client API on the same loop: the client stands for a browser. Over it
// runs a second overlay Host (the browser's), whose only relay is the serving node, named
// Endpoint::web(0) on the browser's side; it reaches a UDP peer through the relay.
#include "platform/web_listener.hpp"

#include <atomic>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>

#include "overlay/datagram_transport.hpp"
#include "overlay/host.hpp"
#include "platform/async.hpp"
#include "platform/loop.hpp"
#include "platform/node.hpp"
#include "platform/timer.hpp"
#include "support/child_process.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::platform::Loop;

namespace {

std::uint64_t counter_value(const Counters& counters, std::string_view name) {
  return counters.counter_value(name);
}

// Runs the loop until `done` or `limit`; a ticking timer bounds each wait.
template <class Done>
bool run_until(Loop& loop, Done done, Duration limit = 10s) {
  platform::Timer tick(loop);
  tick.start(5ms, 5ms, [] {});
  const Instant end = loop.now() + limit;
  while (!done() && loop.now() < end) loop.run_once();
  tick.stop();
  return done();
}

// A blocking HTTP/1.0 GET on another thread (the server runs on this one's loop).
struct HttpGet {
  std::string response;
  std::atomic<bool> done{false};
  std::thread thread;
  HttpGet(std::uint16_t port, std::string path) {
    thread = std::thread([this, port, path] {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        (void)::write(fd, request.data(), request.size());
        char buffer[4096];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
          response.append(buffer, static_cast<std::size_t>(n));
      }
      ::close(fd);
      done = true;
    });
  }
  ~HttpGet() { thread.join(); }
};

std::string http_get(Loop& loop, std::uint16_t port, const std::string& path) {
  auto get = std::make_unique<HttpGet>(port, path);
  REQUIRE(run_until(loop, [&] { return get->done.load(); }));
  return get->response;
}

// The browser's side: a libwebsockets client on the loop, as a DatagramTransport. It
// reaches one node, the one serving the page, which it names Endpoint::web(0).
class WsClient final : public overlay::DatagramTransport {
 public:
  WsClient(Loop& loop, std::uint16_t port) {
    std::memset(&info_, 0, sizeof info_);
    info_.options = LWS_SERVER_OPTION_LIBUV;
    loops_[0] = loop.raw();
    info_.foreign_loops = loops_;
    info_.port = CONTEXT_PORT_NO_LISTEN;
    info_.protocols = kProtocols;
    info_.user = this;
    info_.signal_cb = [](void*, int) {};
    context_ = lws_create_context(&info_);
    REQUIRE(context_ != nullptr);
    lws_client_connect_info c;
    std::memset(&c, 0, sizeof c);
    c.context = context_;
    c.address = "127.0.0.1";
    c.port = port;
    c.path = "/peermq";
    c.host = "127.0.0.1";
    c.origin = "127.0.0.1";
    c.local_protocol_name = "test-client";
    c.pwsi = &wsi_;
    REQUIRE(lws_client_connect_via_info(&c) != nullptr);
  }
  ~WsClient() override {
    lws_context_destroy(context_);
  }

  // DatagramTransport: everything goes to the serving node.
  bool send(const Endpoint& to, std::span<const std::uint8_t> bytes) override {
    if (!to.is_web() || !open_) return false;
    queue(bytes, LWS_WRITE_BINARY);
    return true;
  }
  bool writable() override { return true; }
  void flush() override {}
  bool is_open() const override { return open_; }
  Endpoint local_endpoint() const override { return Endpoint::web(0); }
  std::vector<Endpoint> local_candidates() const override { return {}; }

  void queue(std::span<const std::uint8_t> bytes, lws_write_protocol how) {
    std::vector<std::uint8_t> b(LWS_PRE + bytes.size());
    std::memcpy(b.data() + LWS_PRE, bytes.data(), bytes.size());
    out_.push_back({std::move(b), how});
    if (wsi_ != nullptr) lws_callback_on_writable(wsi_);
  }

  std::function<void(std::span<const std::uint8_t>)> on_datagram;
  bool open_ = false;
  bool closed_ = false;

 private:
  static int callback(lws* wsi, lws_callback_reasons reason, void*, void* in, std::size_t len) {
    auto* self = static_cast<WsClient*>(lws_context_user(lws_get_context(wsi)));
    switch (reason) {
      case LWS_CALLBACK_CLIENT_ESTABLISHED: self->open_ = true; break;
      case LWS_CALLBACK_CLIENT_RECEIVE:
        if (self->on_datagram)
          self->on_datagram({static_cast<const std::uint8_t*>(in), len});
        break;
      case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (self->out_.empty()) break;
        auto [bytes, how] = std::move(self->out_.front());
        self->out_.pop_front();
        const std::size_t n = bytes.size() - LWS_PRE;
        if (lws_write(wsi, bytes.data() + LWS_PRE, n, how) != static_cast<int>(n)) return -1;
        if (!self->out_.empty()) lws_callback_on_writable(wsi);
        break;
      }
      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      case LWS_CALLBACK_CLIENT_CLOSED:
        self->open_ = false;
        self->closed_ = true;
        self->wsi_ = nullptr;
        break;
      default: break;
    }
    return 0;
  }
  static constexpr lws_protocols kProtocols[] = {
      {"test-client", callback, 0, 4096, 0, nullptr, 0},
      {nullptr, nullptr, 0, 0, 0, nullptr, 0},
  };

  struct Out {
    std::vector<std::uint8_t> bytes;
    lws_write_protocol how;
  };
  lws_context_creation_info info_;
  void* loops_[1] = {};
  lws_context* context_ = nullptr;
  lws* wsi_ = nullptr;
  std::deque<Out> out_;
};

struct WebRelay {
  // A directory of its own: ctest runs the test cases of this file side by side.
  explicit WebRelay(Loop& loop) : dir("peermq_web_listener_test"), root(dir.path()) {
    std::filesystem::create_directories(root / "page");
    std::ofstream(root / "page" / "index.html") << "<p>peermq web node</p>";
    std::ofstream(root / "page" / "app.wasm") << "wasm";
    platform::NodeOptions o;
    o.listen = Endpoint::v4({127, 0, 0, 1}, 0);
    o.discovery_dir = root / "run";
    o.host.relay = true;
    platform::WebOptions web;
    web.listen = Endpoint::v4({127, 0, 0, 1}, 0);
    web.root = root / "page";
    o.web = web;
    node.emplace(loop, counters, identity, std::move(o));
    std::string why;
    REQUIRE_MESSAGE(node->start(&why).ok(), why);
  }
  ~WebRelay() { node.reset(); }
  std::uint16_t web_port() const { return node->web()->local_endpoint().port(); }

  test::TempDir dir;
  std::filesystem::path root;
  Counters counters;
  Identity identity = Identity::generate();
  std::optional<platform::Node> node;
};

}  // namespace

TEST_CASE("web listener: /peermq.json names the node, files are served, the rest is 404") {
  Loop loop;
  {
    WebRelay relay(loop);
    CHECK(relay.node->web()->url() == "http://127.0.0.1:" + std::to_string(relay.web_port()) + "/");
    const std::string json = http_get(loop, relay.web_port(), "/peermq.json");
    CHECK(json.find("200 OK") != std::string::npos);
    CHECK(json.find("application/json") != std::string::npos);
    CHECK(json.find("{\"address\":\"" + relay.identity.address().to_string() +
                    "\",\"websocket\":\"/peermq\"}") != std::string::npos);
    const std::string index = http_get(loop, relay.web_port(), "/");
    CHECK(index.find("peermq web node") != std::string::npos);
    const std::string wasm = http_get(loop, relay.web_port(), "/app.wasm");
    CHECK(wasm.find("application/wasm") != std::string::npos);
    CHECK(http_get(loop, relay.web_port(), "/missing.js").find("404") != std::string::npos);
    CHECK(http_get(loop, relay.web_port(), "/../etc/passwd").find("404") != std::string::npos);
  }
}

TEST_CASE("web listener: text and oversized messages are dropped and counted, the connection lives") {
  Loop loop;
  {
    WebRelay relay(loop);
    WsClient client(loop, relay.web_port());
    REQUIRE(run_until(loop, [&] { return client.open_; }));
    const std::string text = "hello";
    client.queue({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, LWS_WRITE_TEXT);
    const std::vector<std::uint8_t> big(limits::kWebMaxDatagram + 1, 0x55);
    client.queue(big, LWS_WRITE_BINARY);
    REQUIRE(run_until(loop, [&] {
      return counter_value(relay.counters, "web_dropped_malformed_total") == 1 &&
             counter_value(relay.counters, "web_dropped_oversized_total") == 1;
    }));
    CHECK(client.open_);
    CHECK(relay.node->web()->connection_count() == 1);
    CHECK(counter_value(relay.counters, "web_rx_datagrams_total") == 0);
    // A datagram the host cannot read (no session) is still one datagram in: the
    // connection carries on.
    const std::vector<std::uint8_t> junk(40, 1);
    client.queue(junk, LWS_WRITE_BINARY);
    REQUIRE(run_until(loop, [&] { return counter_value(relay.counters, "web_rx_datagrams_total") == 1; }));
    CHECK(client.open_);
  }
}

TEST_CASE("web listener: a browser-side host registers through the WebSocket and reaches a UDP peer") {
  Loop loop;
  {
    WebRelay relay(loop);
    const PublicKey relay_key = relay.identity.public_key();
    const overlay::RelayServer* server_ptr = relay.node->host().relay_server();
    REQUIRE(server_ptr != nullptr);
    const overlay::RelayServer& server = *server_ptr;

    // The UDP peer, registered with the relay over UDP.
    Counters udp_counters;
    const Identity udp_identity = Identity::generate();
    platform::NodeOptions uo;
    uo.listen = Endpoint::v4({127, 0, 0, 1}, 0);
    uo.discovery_dir = relay.root / "run-udp";
    uo.host.router.relays = {{relay_key, relay.node->local_endpoint(), "relay"}};
    platform::Node udp(loop, udp_counters, udp_identity, std::move(uo));
    std::string why;
    REQUIRE_MESSAGE(udp.start(&why).ok(), why);

    // The browser: a Host on the WebSocket client, its only relay the serving node.
    WsClient client(loop, relay.web_port());
    REQUIRE(run_until(loop, [&] { return client.open_; }));
    Counters browser_counters;
    const Identity browser_identity = Identity::generate();
    SystemClock clock;
    overlay::HostOptions bo;
    bo.router.announce = false;
    bo.router.punch = false;  // a browser has no UDP to punch with
    bo.router.relays = {{relay_key, Endpoint::web(0), "web relay"}};
    overlay::Host browser(browser_identity, client, clock, nullptr, browser_counters, bo);
    client.on_datagram = [&](std::span<const std::uint8_t> d) {
      browser.on_datagram(d, Endpoint::web(0), loop.now());
      browser.on_batch_end(loop.now());
    };
    REQUIRE(browser.start(&why).ok());

    std::vector<std::string> at_udp;
    std::vector<std::string> at_browser;
    udp.host().on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      CHECK(from == browser_identity.public_key());
      at_udp.emplace_back(m.begin(), m.end());
      const std::string answer = "pong";
      (void)udp.host().send(from, {reinterpret_cast<const std::uint8_t*>(answer.data()), answer.size()});
      udp.host().flush();
    });
    browser.on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      CHECK(from == udp_identity.public_key());
      at_browser.emplace_back(m.begin(), m.end());
    });

    const auto drive_browser = [&] {
      if (browser.next_deadline() <= loop.now()) browser.on_timeout(loop.now());
    };
    REQUIRE(run_until(loop, [&] {
      drive_browser();
      return browser.router().relays_registered() == 1 &&
             server.registered_count() == 2;
    }));
    const auto* reg = server.registration(browser_identity.public_key());
    REQUIRE(reg != nullptr);
    CHECK(reg->observed.is_web());

    REQUIRE(browser.dial(udp_identity.public_key()).ok());
    const std::string ping = "ping";
    REQUIRE(browser.send(udp_identity.public_key(),
                         {reinterpret_cast<const std::uint8_t*>(ping.data()), ping.size()})
                .ok());
    browser.flush();
    REQUIRE(run_until(loop, [&] {
      drive_browser();
      return !at_browser.empty();
    }));
    CHECK(at_udp == std::vector<std::string>{"ping"});
    CHECK(at_browser == std::vector<std::string>{"pong"});
    // The relay forwarded between the two sides, reading nothing.
    CHECK(server.stats().forwarded_packets > 0);
    CHECK(counter_value(relay.counters, "web_rx_datagrams_total") > 0);
    CHECK(counter_value(relay.counters, "web_tx_datagrams_total") > 0);
    browser.stop();
    udp.stop();
  }
}
