#include "platform/node.hpp"

#include "platform/web_info.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {

namespace {

std::unique_ptr<WebListener> make_web(Loop& loop, Counters& counters, const Identity& identity,
                                      const std::optional<WebOptions>& options) {
  if (!options) return nullptr;
  WebOptions o = *options;
  o.info_json = web_info_json(identity.address().to_string(), limits::kWebPath);
  return std::make_unique<WebListener>(loop, counters, std::move(o));
}

}  // namespace

Node::Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options)
    : loop_(loop),
      identity_(identity),
      options_(std::move(options)),
      socket_(loop, counters, options_.udp),
      web_(make_web(loop, counters, identity, options_.web)),
      transport_(socket_, web_.get()),
      host_(identity, transport_, clock_, &directory_, counters, options_.host),
      timer_(loop) {
  socket_.on_receive([this](std::span<const std::uint8_t> data, const Endpoint& from) {
    on_input(data, from);
  });
  socket_.on_read_done([this] { on_input_done(); });
  if (web_) {
    web_->on_receive([this](std::span<const std::uint8_t> data, const Endpoint& from) {
      on_input(data, from);
    });
    web_->on_read_done([this] { on_input_done(); });
  }
  // Work queued outside the loop's callbacks goes out on the next iteration, together.
  host_.on_wake([this] { arm(); });
}

Result<void> Node::start(std::string* detail) {
  if (auto bound = socket_.bind(options_.listen); !bound) {
    if (detail != nullptr) {
      *detail = "cannot listen on " + options_.listen.to_string() + ": " + bound.error().message() +
                " (choose another -listen=IP:PORT)";
    }
    return bound.error();
  }
  if (web_) {
    if (auto listening = web_->listen(detail); !listening) {
      socket_.close();
      return listening;
    }
  }
  auto dir = LocalDirectory::open(options_.discovery_dir, detail);
  if (!dir) return dir.error();
  directory_.local.emplace(std::move(*dir));
  if (auto started = host_.start(detail); !started) return started;
  started_ = true;
  arm();
  return {};
}

void Node::stop() noexcept {
  host_.stop();
  timer_.stop();
  armed_at_ = Instant::max();
  socket_.close();
  if (web_) web_->close();
}

void Node::on_input(std::span<const std::uint8_t> data, const Endpoint& from) {
  // The datagrams of one read share one clock read.
  if (!read_at_) read_at_ = loop_.now();
  host_.on_datagram(data, from, *read_at_);
}

void Node::on_input_done() {
  read_at_.reset();
  host_.on_batch_end(loop_.now());
  arm();
}

void Node::arm() {
  const Instant next = host_.next_deadline();
  if (next == armed_at_) return;
  if (next == Instant::max()) {
    timer_.stop();
    armed_at_ = next;
    return;
  }
  armed_at_ = next;
  timer_.start_at(next, [this] { on_timer(); });
}

void Node::on_timer() {
  armed_at_ = Instant::max();
  host_.on_timeout(loop_.now());
  arm();
}

// ---- the directory ---------------------------------------------------------------------------

Result<void> Node::Directory::announce(const Identity& me, const overlay::Candidates& endpoints,
                                       WallTime now, std::string* detail) {
  if (!local) return LocalDirectoryError::io;
  return local->announce(me, endpoints, now, detail);
}

void Node::Directory::withdraw(const PublicKey& me) noexcept {
  if (local) local->withdraw(me);
}

Result<overlay::LocalAnnouncement> Node::Directory::lookup(const PublicKey& peer, WallTime now,
                                                           std::string* detail) {
  if (!local) return LocalDirectoryError::not_found;
  return local->lookup(peer, now, detail);
}

}  // namespace peermq::platform
