#include "runtime/udp_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace peermq::runtime {

const char* describe(UdpError e) {
  switch (e) {
    case UdpError::address_in_use:
      return "UDP port is already in use by another socket: stop the other process or choose "
             "another port (port 0 lets the system pick a free one)";
    case UdpError::address_not_available:
      return "cannot bind to an address this host does not have: use one of its own "
             "addresses, or 0.0.0.0 / [::] for all of them";
    case UdpError::permission_denied:
      return "not allowed to bind this address or port (ports below 1024 need privileges): "
             "choose a port from 1024 up";
    case UdpError::already_bound:
      return "UDP socket is already bound: create another UdpSocket for a second address";
  }
  return "unknown UDP socket error";
}

namespace {

// libuv 1.44 cuts the buffer alloc_cb returns into chunks of UV__UDP_DGRAM_MAXSIZE (64 KiB)
// for recvmmsg, at most UV__MMSG_MAXWIDTH (20) of them: a slab of 64 x 2 KiB would give it
// two chunks. So the slab is 20 x 64 KiB, allocated once; the kernel only writes (and so
// only faults in) the bytes each datagram has. Every datagram fits a chunk whole, so the
// kernel never truncates; max_receive_datagram is what drops oversized ones.
constexpr std::size_t kReceiveChunk = 64 * 1024;
constexpr std::size_t kReceiveChunks = 20;
// sendmmsg batch: the kernel's UIO_MAXIOV allows 1024, but 64 already makes the system
// call cost per datagram small next to the UDP stack's own per-datagram work.
constexpr std::size_t kSendBatch = 64;
// IPv4's largest UDP payload; a slot size above it could never be sent.
constexpr std::size_t kMaxSendDatagram = 65507;

std::error_code bind_error(int status) {
  switch (status) {
    case UV_EADDRINUSE:
      return make_error_code(UdpError::address_in_use);
    case UV_EADDRNOTAVAIL:
      return make_error_code(UdpError::address_not_available);
    case UV_EACCES:
    case UV_EPERM:
      return make_error_code(UdpError::permission_denied);
    default:
      return uv_error(status);
  }
}

uv_handle_t* as_handle(uv_udp_t* udp) {
  return reinterpret_cast<uv_handle_t*>(udp);  // libuv's idiom: handles share a prefix
}

// Asks for `wanted` bytes each way. Failures are not errors: the default buffers work,
// just with more drops under bursts, which the achieved sizes let the caller report.
UdpBufferSizes size_buffers(uv_udp_t* udp, int wanted) {
  uv_handle_t* handle = as_handle(udp);
  int value = wanted;
  uv_send_buffer_size(handle, &value);
  value = wanted;
  uv_recv_buffer_size(handle, &value);
  UdpBufferSizes got;
  uv_send_buffer_size(handle, &got.send);  // 0 means "read"
  uv_recv_buffer_size(handle, &got.receive);
#ifdef __linux__
  // Linux caps the request at net.core.[rw]mem_max; a process with CAP_NET_ADMIN may go
  // past the cap, which is what a busy relay wants. Linux reports twice what was set.
  uv_os_fd_t fd = -1;
  if (uv_fileno(handle, &fd) == 0 && wanted <= INT32_MAX / 2) {
    if (got.send < 2 * wanted &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &wanted, sizeof wanted) == 0) {
      got.send = 0;
      uv_send_buffer_size(handle, &got.send);
    }
    if (got.receive < 2 * wanted &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) == 0) {
      got.receive = 0;
      uv_recv_buffer_size(handle, &got.receive);
    }
  }
#endif
  return got;
}

}  // namespace

UdpSocket::UdpSocket(Loop& loop, Counters& counters, UdpOptions options)
    : socket_buffer_bytes_(options.socket_buffer_bytes) {
  auto box = Box::open(loop, [](uv_loop_t* raw, uv_udp_t* handle) {
    // AF_UNSPEC: the socket is created by bind(), in the family of the address.
    return uv_udp_init_ex(raw, handle, AF_UNSPEC | UV_UDP_RECVMMSG);
  });
  if (!box) throw std::system_error(box.error(), "cannot create a UDP socket");
  box_ = std::move(box).value();
  box_.state().handle = box_.get();
  init_state(box_.state(), counters, options);

  auto prepare = PrepareBox::open(loop, uv_prepare_init);
  auto check = CheckBox::open(loop, uv_check_init);
  if (!prepare || !check) throw std::system_error(uv_error(UV_ENOMEM), "cannot create a UDP socket");
  prepare_ = std::move(prepare).value();
  check_ = std::move(check).value();
  prepare_.state().udp = &box_.state();
  check_.state().udp = &box_.state();
  // Flushing right before the loop blocks catches sends from timers and from the previous
  // iteration's late callbacks; right after I/O catches sends from receive callbacks, so
  // an answer leaves in the iteration its question arrived. Neither keeps the loop alive.
  uv_prepare_start(prepare_.get(), [](uv_prepare_t* handle) {
    if (FlushState* state = PrepareBox::state_of(handle)) flush(*state->udp);
  });
  uv_check_start(check_.get(), [](uv_check_t* handle) {
    if (FlushState* state = CheckBox::state_of(handle)) flush(*state->udp);
  });
  uv_unref(PrepareBox::as_uv_handle(prepare_.get()));
  uv_unref(CheckBox::as_uv_handle(check_.get()));
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    close();  // counts this socket's queue as dropped, as destruction would
    socket_buffer_bytes_ = other.socket_buffer_bytes_;
    box_ = std::move(other.box_);
    prepare_ = std::move(other.prepare_);
    check_ = std::move(other.check_);
  }
  return *this;
}

void UdpSocket::init_state(State& s, Counters& counters, const UdpOptions& options) {
  if (options.send_queue_datagrams == 0 || options.max_send_datagram == 0 ||
      options.max_send_datagram > kMaxSendDatagram)
    throw std::invalid_argument("UdpOptions: the send queue needs at least one slot of 1 to "
                                "65507 bytes");
  auto counter = [&](const char* suffix, const char* help) {
    return &counters.counter(options.counter_prefix + suffix, help);
  };
  Metrics& m = s.metrics;
  m.rx_datagrams = counter("_rx_datagrams_total", "UDP datagrams received and delivered.");
  m.rx_bytes = counter("_rx_bytes_total", "UDP payload bytes received and delivered.");
  m.rx_batches = counter("_rx_batches_total", "recvmmsg calls that returned several datagrams.");
  m.rx_too_long = counter("_rx_dropped_too_long_total",
                          "UDP datagrams dropped on receipt for exceeding the size limit.");
  m.rx_errors = counter("_rx_errors_total", "UDP socket read errors.");
  m.tx_datagrams = counter("_tx_datagrams_total", "UDP datagrams handed to the kernel.");
  m.tx_bytes = counter("_tx_bytes_total", "UDP payload bytes handed to the kernel.");
  m.tx_batches = counter("_tx_batches_total", "sendmmsg calls (up to 64 datagrams each).");
  m.tx_blocked = counter("_tx_blocked_total",
                         "Times the kernel send buffer was full and the queue waited.");
  m.tx_too_big = counter("_tx_dropped_too_big_total",
                         "UDP datagrams the kernel refused as too large (EMSGSIZE).");
  m.tx_unreachable = counter("_tx_dropped_unreachable_total",
                             "UDP datagrams not sent: destination network or host unreachable.");
  m.tx_denied = counter("_tx_dropped_denied_total",
                        "UDP datagrams not sent: forbidden by a firewall or policy.");
  m.tx_other = counter("_tx_dropped_other_total", "UDP datagrams not sent: other socket error.");
  m.tx_closed = counter("_tx_dropped_closed_total",
                        "UDP datagrams still queued when their socket was closed.");

  bool mmsg = uv_udp_using_recvmmsg(s.handle) != 0;
  s.slab.resize(kReceiveChunk * (mmsg ? kReceiveChunks : 1));
  s.max_receive = options.max_receive_datagram;

  s.slot_size = options.max_send_datagram;
  s.slots = options.send_queue_datagrams;
  s.arena.resize(s.slots * s.slot_size);
  s.addresses.resize(s.slots);
  s.address_lengths.resize(s.slots);
  s.lengths.resize(s.slots);
#ifdef __linux__
  // Each slot's message header points at its own address and iovec once and for all, so a
  // run of slots is a ready sendmmsg vector.
  s.iovecs.resize(s.slots);
  s.messages.resize(s.slots);
  for (std::size_t i = 0; i < s.slots; ++i) {
    s.iovecs[i].iov_base = s.arena.data() + i * s.slot_size;
    s.messages[i].msg_hdr.msg_name = &s.addresses[i];
    s.messages[i].msg_hdr.msg_iov = &s.iovecs[i];
    s.messages[i].msg_hdr.msg_iovlen = 1;
  }
#endif
}

void UdpSocket::on_receive(ReceiveCallback callback) {
  box_.state().receive = std::move(callback);
}

Result<void> UdpSocket::bind(const Endpoint& local) {
  State& s = box_.state();
  if (s.bound) return UdpError::already_bound;
  if (local.family() == Endpoint::Family::none)
    throw std::invalid_argument("UdpSocket::bind needs an IPv4 or IPv6 endpoint");
  sockaddr_storage address{};
  local.to_sockaddr(address);
  if (int status = uv_udp_bind(box_.get(), reinterpret_cast<const sockaddr*>(&address), 0);
      status < 0)
    return bind_error(status);
  s.bound = true;
  s.v6_socket = local.is_v6();
  s.buffer_sizes = size_buffers(box_.get(), socket_buffer_bytes_);
  if (int status = uv_udp_recv_start(box_.get(), on_alloc, on_read); status < 0)
    return uv_error(status);
  return {};
}

Result<Endpoint> UdpSocket::local_endpoint() const {
  sockaddr_storage address{};
  int length = sizeof address;
  if (int status = uv_udp_getsockname(box_.get(), reinterpret_cast<sockaddr*>(&address), &length);
      status < 0)
    return uv_error(status);
  auto endpoint = Endpoint::from_sockaddr(address);
  if (!endpoint) return uv_error(UV_EAFNOSUPPORT);
  return *endpoint;
}

bool UdpSocket::using_recvmmsg() const noexcept {
  return uv_udp_using_recvmmsg(box_.get()) != 0;
}

void UdpSocket::close() noexcept {
  if (box_) {
    State& s = box_.state();
    s.metrics.tx_closed->add(s.count);
    s.count = 0;
  }
  check_.close();
  prepare_.close();
  box_.close();  // a parked send now completes with UV_ECANCELED and finds no state
}

// ---- receiving ----------------------------------------------------------------------

void UdpSocket::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  State* s = Box::state_of(reinterpret_cast<uv_udp_t*>(handle));
  if (s == nullptr) {
    *buf = uv_buf_init(nullptr, 0);  // libuv answers with UV_ENOBUFS, which on_read ignores
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(s->slab.data()),
                     static_cast<unsigned>(s->slab.size()));
}

// With recvmmsg libuv calls once per datagram (UV_UDP_MMSG_CHUNK, buf = its chunk), then
// once more with UV_UDP_MMSG_FREE to give the slab back; without it, once per datagram.
// nread == 0 with no address means "nothing more to read", not an empty datagram.
void UdpSocket::on_read(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                        const sockaddr* from, unsigned flags) {
  State* s = Box::state_of(handle);
  if (s == nullptr) return;  // closed mid-batch: the rest of the batch is dropped
  if ((flags & UV_UDP_MMSG_FREE) != 0) {
    if (s->batch_datagrams > 1) s->metrics.rx_batches->inc();
    s->batch_datagrams = 0;
    return;
  }
  if ((flags & UV_UDP_MMSG_CHUNK) != 0) ++s->batch_datagrams;
  if (nread < 0) {
    if (nread != UV_ENOBUFS) s->metrics.rx_errors->inc();
    return;
  }
  if (from == nullptr) return;
  auto length = static_cast<std::size_t>(nread);
  if ((flags & UV_UDP_PARTIAL) != 0 || length > s->max_receive) {
    s->metrics.rx_too_long->inc();
    return;
  }
  auto endpoint = Endpoint::from_sockaddr(from);
  if (!endpoint) {
    s->metrics.rx_errors->inc();  // not IP: cannot happen on a socket bound to an IP address
    return;
  }
  s->metrics.rx_datagrams->inc();
  s->metrics.rx_bytes->add(length);
  if (s->receive)
    s->receive({reinterpret_cast<const std::uint8_t*>(buf->base), length}, *endpoint);
}

// ---- sending --------------------------------------------------------------------------

bool UdpSocket::send(const Endpoint& to, std::span<const std::uint8_t> data) {
  State& s = box_.state();
  if (data.size() > s.slot_size)
    throw std::invalid_argument("UdpSocket::send: datagram larger than max_send_datagram");
  if (to.family() == Endpoint::Family::none || !s.bound)
    throw std::invalid_argument("UdpSocket::send needs a bound socket and an IP destination");
  if (s.count == s.slots) return false;
  std::size_t slot = s.head + s.count;
  if (slot >= s.slots) slot -= s.slots;
  if (!data.empty()) std::memcpy(s.arena.data() + slot * s.slot_size, data.data(), data.size());
  s.lengths[slot] = static_cast<std::uint32_t>(data.size());
  s.address_lengths[slot] = to.to_sockaddr(s.addresses[slot], s.v6_socket && to.is_v4());
#ifdef __linux__
  s.iovecs[slot].iov_len = data.size();
  s.messages[slot].msg_hdr.msg_namelen = s.address_lengths[slot];
#endif
  ++s.count;
  return true;
}

void UdpSocket::flush() {
  if (box_) flush(box_.state());
}

// Removes the `n` oldest datagrams, counting them as sent or (already counted) failed.
void UdpSocket::pop(State& s, std::size_t n, bool sent) {
  for (std::size_t i = 0; i < n; ++i) {
    if (sent) s.metrics.tx_bytes->add(s.lengths[s.head]);
    if (++s.head == s.slots) s.head = 0;
  }
  if (sent) s.metrics.tx_datagrams->add(n);
  s.count -= n;
}

void UdpSocket::count_send_error(State& s, int status) {
  switch (status) {
    case UV_EMSGSIZE:
      s.metrics.tx_too_big->inc();
      break;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_ECONNREFUSED:
    case UV_EADDRNOTAVAIL:
    case UV_ENETDOWN:
      s.metrics.tx_unreachable->inc();
      break;
    case UV_EPERM:
    case UV_EACCES:
      s.metrics.tx_denied->inc();
      break;
    default:
      s.metrics.tx_other->inc();
  }
}

// The kernel's send buffer is full. Something must wake us when it drains, and libuv
// owns the fd: a uv_poll_t on it would fight the UDP handle's own watcher, and retrying
// from a timer or from prepare/check either adds latency or spins. So the head datagram
// goes to libuv's own uv_udp_send, which waits for writability on the handle's watcher;
// its completion resumes flush(). The rest waits behind it, so order is kept. (ENOBUFS,
// a full device queue, is treated alike; libuv retries it on the next writable event.)
bool UdpSocket::park(State& s) {
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(s.arena.data() + s.head * s.slot_size),
                             s.lengths[s.head]);
  const auto* to = reinterpret_cast<const sockaddr*>(&s.addresses[s.head]);
  if (int status = uv_udp_send(&s.parked, s.handle, &buf, 1, to, on_parked_sent); status < 0) {
    count_send_error(s, status);
    pop(s, 1, false);
    return false;
  }
  s.is_parked = true;
  return true;
}

void UdpSocket::on_parked_sent(uv_udp_send_t* request, int status) {
  State* s = Box::state_of(request->handle);
  if (s == nullptr) return;  // closed: the queue was counted as dropped then
  s->is_parked = false;
  if (status < 0) count_send_error(*s, status);
  pop(*s, 1, status >= 0);
  flush(*s);
}

#ifdef __linux__
void UdpSocket::flush(State& s) {
  uv_os_fd_t fd = -1;
  if (s.count == 0 || s.is_parked || uv_fileno(as_handle(s.handle), &fd) != 0) return;
  while (s.count > 0) {
    auto n = static_cast<unsigned>(std::min({s.count, kSendBatch, s.slots - s.head}));
    int sent;
    do {
      sent = sendmmsg(fd, &s.messages[s.head], n, 0);
    } while (sent < 0 && errno == EINTR);
    if (sent > 0) {
      s.metrics.tx_batches->inc();
      pop(s, static_cast<std::size_t>(sent), true);
      continue;
    }
    // sendmmsg reports an error only for the first datagram; later ones are retried.
    int error = sent < 0 ? errno : EAGAIN;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      s.metrics.tx_blocked->inc();
      if (park(s)) return;
      continue;
    }
    count_send_error(s, -error);
    pop(s, 1, false);
  }
}
#else
// No sendmmsg: one non-blocking send per datagram, same queue and parking.
void UdpSocket::flush(State& s) {
  if (!s.bound || s.is_parked) return;
  while (s.count > 0) {
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(s.arena.data() + s.head * s.slot_size),
                               s.lengths[s.head]);
    const auto* to = reinterpret_cast<const sockaddr*>(&s.addresses[s.head]);
    int status = uv_udp_try_send(s.handle, &buf, 1, to);
    if (status >= 0) {
      pop(s, 1, true);
      continue;
    }
    if (status == UV_EAGAIN || status == UV_ENOBUFS) {
      s.metrics.tx_blocked->inc();
      if (park(s)) return;
      continue;
    }
    count_send_error(s, status);
    pop(s, 1, false);
  }
}
#endif

}  // namespace peermq::runtime
