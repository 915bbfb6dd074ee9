#include "platform/sockaddr.hpp"
#include "platform/udp_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "metrics/counter_registry.hpp"

namespace peermq::platform {

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

#if defined(__linux__) && defined(UDP_SEGMENT) && defined(UDP_GRO)
#define PEERMQ_UDP_OFFLOAD 1
#endif

// Every receive buffer holds the largest UDP payload, so the kernel never truncates, and
// also the largest run UDP_GRO coalesces (64 KiB). The kernel writes, and so faults in,
// only the bytes each read has. max_receive_datagram is what drops oversized datagrams.
constexpr std::size_t kReceiveChunk = 64 * 1024;
#ifdef __linux__
constexpr std::size_t kReceiveChunks = 20;
#else
constexpr std::size_t kReceiveChunks = 1;  // recvmsg: one datagram per call
#endif
// Room for the UDP_GRO control message (a cmsghdr and an int) of each receive buffer.
constexpr std::size_t kReceiveControlWords = 4;
// Reads per readable event, and datagrams after which no further read starts, so that one
// busy socket cannot starve the loop's timers (the fd stays readable: the next iteration
// goes on where this one stopped).
constexpr int kReadRounds = 8;
constexpr std::size_t kReadBudget = 1024;
// Messages per sendmmsg: the kernel's UIO_MAXIOV allows 1024, but 64 already makes the
// system call cost per datagram small next to the UDP stack's own per-message work.
constexpr std::size_t kSendBatch = 64;
// Segments in one GSO message: UDP_MAX_SEGMENTS of Linux 4.18 to 6.8 (later ones take 128).
constexpr std::size_t kGsoMaxSegments = 64;
// IPv4's largest UDP payload: no slot, and no GSO message, may be larger.
constexpr std::size_t kMaxSendDatagram = 65507;

std::error_code bind_error(int status) {
  switch (status) {
    case UV_EADDRINUSE: return make_error_code(UdpError::address_in_use);
    case UV_EADDRNOTAVAIL: return make_error_code(UdpError::address_not_available);
    case UV_EACCES:
    case UV_EPERM: return make_error_code(UdpError::permission_denied);
    default: return uv_error(status);
  }
}

// errno as a libuv status, so every runtime error speaks one category.
std::error_code system_error_code(int error) {
  return uv_error(uv_translate_sys_error(error));
}

int open_socket(int family) {
#ifdef __linux__
  return socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);  // uv_poll_init makes it non-blocking
  return fd;
#endif
}

#ifdef __linux__
template <class Message>
int send_messages(int fd, Message* messages, unsigned n) {
  return sendmmsg(fd, messages, n, 0);
}
template <class Message>
int receive_messages(int fd, Message* messages, unsigned n) {
  return recvmmsg(fd, messages, n, 0, nullptr);
}
#else
// sendmmsg's contract, one sendmsg at a time: the count sent, or -1 and errno if none was.
template <class Message>
int send_messages(int fd, Message* messages, unsigned n) {
  unsigned i = 0;
  for (; i < n; ++i) {
    ssize_t r = sendmsg(fd, &messages[i].msg_hdr, 0);
    if (r < 0) break;
    messages[i].msg_len = static_cast<unsigned>(r);
  }
  return i > 0 ? static_cast<int>(i) : -1;
}
template <class Message>
int receive_messages(int fd, Message* messages, unsigned n) {
  unsigned i = 0;
  for (; i < n; ++i) {
    ssize_t r = recvmsg(fd, &messages[i].msg_hdr, 0);
    if (r < 0) break;
    messages[i].msg_len = static_cast<unsigned>(r);
  }
  return i > 0 ? static_cast<int>(i) : -1;
}
#endif

int read_buffer_size(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  return getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0 ? value : 0;
}

// Asks for `wanted` bytes each way. Failures are not errors: the default buffers work,
// just with more drops under bursts, which the achieved sizes let the caller report.
UdpBufferSizes size_buffers(int fd, int wanted) {
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &wanted, sizeof wanted);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
  UdpBufferSizes got{read_buffer_size(fd, SO_SNDBUF), read_buffer_size(fd, SO_RCVBUF)};
#ifdef __linux__
  // Linux caps the request at net.core.[rw]mem_max; a process with CAP_NET_ADMIN may go
  // past the cap, which is what a busy relay wants. Linux reports twice what was set.
  if (wanted <= INT32_MAX / 2) {
    if (got.send < 2 * wanted &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &wanted, sizeof wanted) == 0)
      got.send = read_buffer_size(fd, SO_SNDBUF);
    if (got.receive < 2 * wanted &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) == 0)
      got.receive = read_buffer_size(fd, SO_RCVBUF);
  }
#endif
  return got;
}

bool same_destination(const std::vector<sockaddr_storage>& addresses,
                      const std::vector<socklen_t>& lengths, std::size_t a, std::size_t b) {
  // Endpoint::to_sockaddr zeroes the whole storage first, so equal endpoints are equal bytes.
  return lengths[a] == lengths[b] && std::memcmp(&addresses[a], &addresses[b], lengths[a]) == 0;
}

}  // namespace

UdpSocket::State::~State() {
  if (fd >= 0) ::close(fd);  // close() normally did it already
}

UdpSocket::UdpSocket(Loop& loop, Counters& counters, UdpOptions options)
    : loop_(&loop), options_(std::move(options)) {
  if (options_.send_queue_datagrams == 0 || options_.max_send_datagram == 0 ||
      options_.max_send_datagram > kMaxSendDatagram)
    throw std::invalid_argument(
        "UdpOptions: the send queue needs at least one slot of 1 to 65507 bytes");
  auto counter = [&](const char* suffix, const char* help) {
    return &CounterRegistry(counters).counter(std::string(options_.counter_prefix) + suffix, help);
  };
  Metrics& m = metrics_;
  m.rx_datagrams = counter("_rx_datagrams_total", "UDP datagrams received and delivered.");
  m.rx_bytes = counter("_rx_bytes_total", "UDP payload bytes received and delivered.");
  m.rx_batches = counter("_rx_batches_total", "recvmmsg calls that returned several datagrams.");
  m.rx_gro_batches = counter("_rx_gro_batches_total",
                             "Coalesced runs of datagrams received (UDP GRO), split on receipt.");
  m.rx_too_long = counter("_rx_dropped_too_long_total",
                          "UDP datagrams dropped on receipt for exceeding the size limit.");
  m.rx_errors = counter("_rx_errors_total", "Errors the socket reported on reading or polling.");
  m.tx_datagrams = counter("_tx_datagrams_total", "UDP datagrams handed to the kernel.");
  m.tx_bytes = counter("_tx_bytes_total", "UDP payload bytes handed to the kernel.");
  m.tx_batches = counter("_tx_batches_total", "sendmmsg calls (up to 64 messages each).");
  m.tx_gso_batches = counter("_tx_gso_batches_total",
                             "Messages of several datagrams sent with UDP segmentation offload.");
  m.tx_gso_refused = counter("_tx_gso_refused_total",
                             "Segmented messages the kernel refused; their datagrams were "
                             "resent one by one.");
  m.tx_blocked =
      counter("_tx_blocked_total", "Times the kernel send buffer was full and the queue waited.");
  m.tx_too_big = counter("_tx_dropped_too_big_total",
                         "UDP datagrams the kernel refused as too large (EMSGSIZE).");
  m.tx_unreachable = counter("_tx_dropped_unreachable_total",
                             "UDP datagrams not sent: destination network or host unreachable.");
  m.tx_denied = counter("_tx_dropped_denied_total",
                        "UDP datagrams not sent: forbidden by a firewall or policy.");
  m.tx_other = counter("_tx_dropped_other_total", "UDP datagrams not sent: other socket error.");
  m.tx_closed = counter("_tx_dropped_closed_total",
                        "UDP datagrams still queued when their socket was closed.");

  auto prepare = PrepareBox::open(loop, uv_prepare_init);
  auto check = CheckBox::open(loop, uv_check_init);
  if (!prepare || !check)
    throw std::system_error(uv_error(UV_ENOMEM), "cannot create a UDP socket");
  prepare_ = std::move(prepare).value();
  check_ = std::move(check).value();
  // Flushing right before the loop blocks catches sends from timers and from the previous
  // iteration's late callbacks; right after I/O catches sends from receive callbacks, so
  // an answer leaves in the iteration its question arrived. Neither keeps the loop alive.
  uv_prepare_start(prepare_.get(), [](uv_prepare_t* handle) {
    FlushState* state = PrepareBox::state_of(handle);
    if (state != nullptr && state->udp != nullptr) flush(*state->udp);
  });
  uv_check_start(check_.get(), [](uv_check_t* handle) {
    FlushState* state = CheckBox::state_of(handle);
    if (state != nullptr && state->udp != nullptr) flush(*state->udp);
  });
  uv_unref(PrepareBox::as_uv_handle(prepare_.get()));
  uv_unref(CheckBox::as_uv_handle(check_.get()));
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    close();  // counts this socket's queue as dropped, as destruction would
    loop_ = other.loop_;
    options_ = std::move(other.options_);
    metrics_ = other.metrics_;
    receive_ = std::move(other.receive_);
    read_done_ = std::move(other.read_done_);
    buffer_sizes_ = other.buffer_sizes_;
    box_ = std::move(other.box_);
    prepare_ = std::move(other.prepare_);
    check_ = std::move(other.check_);
  }
  return *this;
}

void UdpSocket::init_state(State& s, const Metrics& metrics, const UdpOptions& options) {
  s.metrics = metrics;
  s.max_receive = options.max_receive_datagram;
  s.slab = std::make_unique_for_overwrite<std::uint8_t[]>(kReceiveChunk * kReceiveChunks);
  s.sources.resize(kReceiveChunks);
  s.receive_control.resize(kReceiveChunks * kReceiveControlWords);
  s.receive_iovecs.resize(kReceiveChunks);
  s.receive_messages.resize(kReceiveChunks);
  for (std::size_t i = 0; i < kReceiveChunks; ++i) {
    s.receive_iovecs[i] = {s.slab.get() + i * kReceiveChunk, kReceiveChunk};
    msghdr& h = s.receive_messages[i].msg_hdr;
    h.msg_name = &s.sources[i];
    h.msg_iov = &s.receive_iovecs[i];
    h.msg_iovlen = 1;
    h.msg_control = &s.receive_control[i * kReceiveControlWords];
  }

  s.slot_size = options.max_send_datagram;
  s.slots = options.send_queue_datagrams;
  s.arena = std::make_unique_for_overwrite<std::uint8_t[]>(s.slots * s.slot_size);
  s.addresses.resize(s.slots);
  s.address_lengths.resize(s.slots);
  s.iovecs.resize(s.slots);
  for (std::size_t i = 0; i < s.slots; ++i) s.iovecs[i] = {s.arena.get() + i * s.slot_size, 0};
  s.batch.resize(kSendBatch);
  s.outgoing.resize(kSendBatch);
#ifdef PEERMQ_UDP_OFFLOAD
  // The UDP_SEGMENT header is the same for every message; build_batch() writes the size.
  static_assert(CMSG_SPACE(sizeof(std::uint16_t)) <= sizeof(Outgoing::control));
  static_assert(alignof(cmsghdr) <= alignof(Outgoing));
  for (Outgoing& out : s.outgoing) {
    cmsghdr header{};
    header.cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    header.cmsg_level = SOL_UDP;
    header.cmsg_type = UDP_SEGMENT;
    std::memcpy(out.control, &header, sizeof header);
  }
#endif
}

// Tests only (UdpOptions::force_gso_refusal): without UDP checksums the kernel refuses GSO.
void UdpSocket::set_checksums(State& s, bool on) {
#ifdef PEERMQ_UDP_OFFLOAD
  int off = on ? 0 : 1;
  setsockopt(s.fd, SOL_SOCKET, SO_NO_CHECK, &off, sizeof off);
#ifdef UDP_NO_CHECK6_TX
  if (s.v6_socket) setsockopt(s.fd, SOL_UDP, UDP_NO_CHECK6_TX, &off, sizeof off);
#endif
#endif
  s.checksums_off = !on;
}

// Best effort: a kernel without an offload simply leaves it off.
void UdpSocket::enable_offloads(State& s, const UdpOptions& options) {
#ifdef PEERMQ_UDP_OFFLOAD
  if (options.segmentation_offload) {
    // UDP_SEGMENT exists since Linux 4.18; asking for it tells whether sends may carry it.
    int value = 0;
    socklen_t length = sizeof value;
    s.gso = getsockopt(s.fd, SOL_UDP, UDP_SEGMENT, &value, &length) == 0;
  }
  if (options.force_gso_refusal) set_checksums(s, false);
  if (options.receive_offload) {
    int one = 1;
    s.gro = setsockopt(s.fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  }
#else
  (void)s;
  (void)options;
#endif
}

void UdpSocket::on_receive(ReceiveCallback callback) {
  if (box_) {
    box_.state().receive = std::move(callback);
  } else {
    receive_ = std::move(callback);
  }
}

void UdpSocket::on_read_done(ReadDoneCallback callback) {
  if (box_) {
    box_.state().read_done = std::move(callback);
  } else {
    read_done_ = std::move(callback);
  }
}

Result<void> UdpSocket::bind(const Endpoint& local) {
  if (box_) return UdpError::already_bound;
  if (!prepare_) return uv_error(UV_EBADF);  // closed, or moved from
  if (local.family() == Endpoint::Family::none)
    throw std::invalid_argument("UdpSocket::bind needs an IPv4 or IPv6 endpoint");
  sockaddr_storage address{};
  const socklen_t length = to_sockaddr(local, address);
  const int fd = open_socket(local.is_v6() ? AF_INET6 : AF_INET);
  if (fd < 0) return system_error_code(errno);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    const int error = errno;
    ::close(fd);
    return bind_error(uv_translate_sys_error(error));
  }
  auto box = Box::open(
      *loop_, [fd](uv_loop_t* raw, uv_poll_t* handle) { return uv_poll_init(raw, handle, fd); });
  if (!box) {
    ::close(fd);
    return box.error();
  }
  box_ = std::move(box).value();
  State& s = box_.state();
  s.handle = box_.get();
  s.fd = fd;
  s.v6_socket = local.is_v6();
  init_state(s, metrics_, options_);
  s.receive = std::move(receive_);
  s.read_done = std::move(read_done_);
  buffer_sizes_ = size_buffers(fd, options_.socket_buffer_bytes);
  enable_offloads(s, options_);
  prepare_.state().udp = &s;
  check_.state().udp = &s;
  if (int status = uv_poll_start(s.handle, UV_READABLE, on_poll); status < 0) {
    close();
    return uv_error(status);
  }
  return {};
}

Result<Endpoint> UdpSocket::local_endpoint() const {
  if (!bound()) return uv_error(UV_EBADF);
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(box_.state().fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return system_error_code(errno);
  auto endpoint = from_sockaddr(address);
  if (!endpoint) return uv_error(UV_EAFNOSUPPORT);
  return *endpoint;
}

bool UdpSocket::using_recvmmsg() const noexcept {
#ifdef __linux__
  return true;
#else
  return false;
#endif
}

void UdpSocket::close() noexcept {
  int fd = -1;
  if (box_) {
    State& s = box_.state();
    s.metrics.tx_closed->add(s.count);
    s.count = 0;
    fd = std::exchange(s.fd, -1);
  }
  check_.close();
  prepare_.close();
  box_.close();  // stops the poll watcher at once; the State lives until libuv lets go
  if (fd >= 0) ::close(fd);
}

// ---- events -----------------------------------------------------------------------------

void UdpSocket::on_poll(uv_poll_t* handle, int status, int events) {
  State* s = Box::state_of(handle);
  if (s == nullptr) return;
  if (status < 0) {
    // POLLERR: the socket holds an error (recvmmsg keeps one that came after some
    // datagrams, for the next call) or queued ICMP errors (only with IP_RECVERR, which we
    // do not set). libuv stops the handle on it; clearing both and polling again keeps
    // the socket alive. Both directions are tried now, since either may be due.
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &length);
#ifdef __linux__
    std::uint8_t discard[64];
    iovec iov{discard, sizeof discard};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    for (int i = 0; i < 64 && recvmsg(s->fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0; ++i) {
    }
#endif
    s->metrics.rx_errors->inc();
    const bool writable = s->waiting_writable;
    s->waiting_writable = false;
    if (uv_poll_start(handle, UV_READABLE, on_poll) < 0) return;
    events = UV_READABLE | (writable ? UV_WRITABLE : 0);
  }
  if ((events & UV_WRITABLE) != 0) {
    wait_writable(*s, false);
    flush(*s);
  }
  if ((events & UV_READABLE) != 0) receive(handle);
}

void UdpSocket::wait_writable(State& s, bool wait) {
  if (s.waiting_writable == wait) return;
  s.waiting_writable = wait;
  uv_poll_start(s.handle, UV_READABLE | (wait ? UV_WRITABLE : 0), on_poll);
}

// ---- receiving --------------------------------------------------------------------------

void UdpSocket::receive(uv_poll_t* handle) {
  State* s = Box::state_of(handle);
  std::size_t delivered = 0;
  for (int round = 0; round < kReadRounds && delivered < kReadBudget; ++round) {
    for (std::size_t i = 0; i < kReceiveChunks; ++i) {  // the kernel overwrote these
      msghdr& h = s->receive_messages[i].msg_hdr;
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_controllen = kReceiveControlWords * sizeof(std::uint64_t);
      h.msg_flags = 0;
    }
    const int n = receive_messages(s->fd, s->receive_messages.data(), kReceiveChunks);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno != EINTR) s->metrics.rx_errors->inc();  // as on_poll: cleared by reading
      continue;
    }
    std::size_t datagrams = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      if (!deliver(handle, s->receive_messages[i], i, datagrams)) return;  // closed
    }
    if (datagrams > 1) s->metrics.rx_batches->inc();
    if (datagrams > 0 && s->read_done) {
      s->read_done();
      if (Box::state_of(handle) == nullptr) return;  // closed by the callback
    }
    delivered += datagrams;
    if (static_cast<std::size_t>(n) < kReceiveChunks) return;  // drained
  }
}

// Hands one received buffer to the callback: one datagram, or a UDP_GRO run of datagrams
// of `segment` bytes each (the last may be shorter). False if a callback closed the socket.
bool UdpSocket::deliver(uv_poll_t* handle, const Message& message, std::size_t chunk,
                        std::size_t& datagrams) {
  State* s = Box::state_of(handle);
  const msghdr& h = message.msg_hdr;
  const std::size_t length = message.msg_len;
  if ((h.msg_flags & MSG_TRUNC) != 0) {
    s->metrics.rx_too_long->inc();  // longer than any UDP payload over IPv4
    return true;
  }
  const auto from = from_sockaddr(s->sources[chunk]);
  if (!from) {
    s->metrics.rx_errors->inc();  // not IP: cannot happen on a socket bound to an IP address
    return true;
  }
  std::size_t segment = length;
#ifdef PEERMQ_UDP_OFFLOAD
  if (s->gro) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      if (size > 0 && static_cast<std::size_t>(size) < length) {
        segment = static_cast<std::size_t>(size);
        s->metrics.rx_gro_batches->inc();
      }
    }
  }
#endif
  const std::uint8_t* data = s->slab.get() + chunk * kReceiveChunk;
  std::size_t offset = 0;
  do {  // a zero-length datagram is delivered too
    const std::size_t size = std::min(segment, length - offset);
    if (size > s->max_receive) {
      s->metrics.rx_too_long->inc();
    } else {
      ++datagrams;
      s->metrics.rx_datagrams->inc();
      s->metrics.rx_bytes->add(size);
      if (s->receive) {
        s->receive({data + offset, size}, *from);
        if (Box::state_of(handle) == nullptr) return false;
      }
    }
    offset += size;
  } while (offset < length);
  return true;
}

// ---- sending ----------------------------------------------------------------------------

bool UdpSocket::send(const Endpoint& to, std::span<const std::uint8_t> data) {
  if (data.size() > options_.max_send_datagram)
    throw std::invalid_argument("UdpSocket::send: datagram larger than max_send_datagram");
  if (to.family() == Endpoint::Family::none || !bound())
    throw std::invalid_argument("UdpSocket::send needs a bound socket and an IP destination");
  State& s = box_.state();
  if (s.count == s.slots) return false;
  std::size_t slot = s.head + s.count;
  if (slot >= s.slots) slot -= s.slots;
  if (!data.empty()) std::memcpy(s.arena.get() + slot * s.slot_size, data.data(), data.size());
  s.iovecs[slot].iov_len = data.size();
  s.address_lengths[slot] = to_sockaddr(to, s.addresses[slot], s.v6_socket && to.is_v4());
  ++s.count;
  return true;
}

void UdpSocket::flush() {
  if (box_) flush(box_.state());
}

// How many datagrams from slot `first` on can leave as one GSO message: same destination,
// same size but for a shorter last one, contiguous in the ring, within the kernel's limits.
std::size_t UdpSocket::segment_run(const State& s, std::size_t first, std::size_t left) {
  const std::size_t size = s.iovecs[first].iov_len;
  if (size == 0) return 1;  // GSO has no zero-size segments
  const std::size_t limit = std::min({left, s.slots - first, kGsoMaxSegments});
  std::size_t run = 1;
  std::size_t total = size;
  while (run < limit) {
    const std::size_t next = first + run;
    const std::size_t length = s.iovecs[next].iov_len;
    if (length == 0 || length > size || total + length > kMaxSendDatagram ||
        !same_destination(s.addresses, s.address_lengths, first, next))
      break;
    total += length;
    ++run;
    if (length < size) break;  // only the last segment may be shorter
  }
  return run;
}

// Fills s.batch from the head of the ring: one message per datagram, or per GSO run.
unsigned UdpSocket::build_batch(State& s) {
  std::size_t slot = s.head;
  std::size_t left = s.count;
  std::size_t unsegmented = s.unsegmented;
  unsigned n = 0;
  while (left > 0 && n < kSendBatch) {
    const std::size_t run = s.gso && unsegmented == 0 ? segment_run(s, slot, left) : 1;
    Outgoing& out = s.outgoing[n];
    msghdr& h = s.batch[n].msg_hdr;
    h.msg_name = &s.addresses[slot];
    h.msg_namelen = s.address_lengths[slot];
    h.msg_iov = &s.iovecs[slot];
    h.msg_iovlen = static_cast<decltype(h.msg_iovlen)>(run);
    h.msg_control = nullptr;
    h.msg_controllen = 0;
#ifdef PEERMQ_UDP_OFFLOAD
    if (run > 1) {
      const auto size = static_cast<std::uint16_t>(s.iovecs[slot].iov_len);
      std::memcpy(out.control + CMSG_LEN(0), &size, sizeof size);
      h.msg_control = out.control;
      h.msg_controllen = CMSG_SPACE(sizeof size);
    }
#endif
    out.slots = run;
    ++n;
    slot += run;
    if (slot >= s.slots) slot -= s.slots;
    left -= run;
    if (unsegmented > 0) --unsegmented;
  }
  return n;
}

// Removes the `n` oldest datagrams, counting them as sent or (already counted) failed.
void UdpSocket::pop(State& s, std::size_t n, bool sent) {
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bytes += s.iovecs[s.head].iov_len;
    if (++s.head == s.slots) s.head = 0;
  }
  if (sent) {
    s.metrics.tx_datagrams->add(n);
    s.metrics.tx_bytes->add(bytes);
  }
  s.count -= n;
  s.unsegmented -= std::min(s.unsegmented, n);
}

void UdpSocket::count_send_error(State& s, int error, std::size_t datagrams) {
  switch (error) {
    case EMSGSIZE: s.metrics.tx_too_big->add(datagrams); break;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ECONNREFUSED:
    case EADDRNOTAVAIL:
    case ENETDOWN: s.metrics.tx_unreachable->add(datagrams); break;
    case EPERM:
    case EACCES: s.metrics.tx_denied->add(datagrams); break;
    default: s.metrics.tx_other->add(datagrams);
  }
}

void UdpSocket::flush(State& s) {
  if (s.count == 0 || s.waiting_writable || s.fd < 0) return;
  while (s.count > 0) {
    const unsigned n = build_batch(s);
    int sent;
    do {
      sent = send_messages(s.fd, s.batch.data(), n);
    } while (sent < 0 && errno == EINTR);
    if (sent > 0) {
      s.metrics.tx_batches->inc();
      std::size_t datagrams = 0;
      for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i) {
        datagrams += s.outgoing[i].slots;
        if (s.outgoing[i].slots > 1) {
          s.metrics.tx_gso_batches->inc();
          s.gso_worked = true;
        }
      }
      pop(s, datagrams, true);
      continue;
    }
    // sendmmsg reports an error only for the first message; later ones are retried.
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      // The kernel's buffer is full (ENOBUFS: a device queue): wait until it drains, with
      // the queue kept in order. The loop keeps running meanwhile.
      s.metrics.tx_blocked->inc();
      wait_writable(s, true);
      return;
    }
    const std::size_t run = s.outgoing[0].slots;
    if (run > 1 && (error == EIO || error == EINVAL || error == EMSGSIZE)) {
      // Refused as a segmented message: send these datagrams one by one instead. If GSO
      // never worked on this socket, the kernel or the socket cannot do it: stop trying.
      // Otherwise the route cannot (an MTU below the segment size, IPsec): just this run.
      s.metrics.tx_gso_refused->inc();
      if (!s.gso_worked && error != EMSGSIZE) {
        s.gso = false;
        // IPv6 receivers drop datagrams without a checksum: the forced refusal is over.
        if (s.checksums_off) set_checksums(s, true);
      } else {
        s.unsegmented = run;
      }
      continue;
    }
    count_send_error(s, error, run);
    pop(s, run, false);
  }
}

}  // namespace peermq::platform
