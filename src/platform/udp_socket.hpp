// UdpSocket: the node's datagram socket, batched both ways for hundreds of thousands of
// datagrams per second.
//
// The socket is our own non-blocking fd, watched by one uv_poll_t, so that both directions
// can use what libuv's uv_udp_t hides: control messages. The kernel's cost is per packet,
// not per byte (udp_sendmsg, ip_output, an skb, a softirq pass each), so on Linux:
//
// Sending: send() copies the datagram into a bounded ring of preallocated slots and returns
// at once; the ring goes out with sendmmsg(2), up to 64 messages per system call, when the
// caller calls flush() or, automatically, right before the loop waits for I/O and right
// after it handled I/O. Consecutive datagrams to one destination with one size (the last
// may be shorter) leave as one message with a UDP_SEGMENT control message (generic
// segmentation offload, Linux >= 4.18): the stack handles up to 64 of them as one packet
// and splits it at the last moment (on loopback: never, see receiving). A refused
// segmented message goes out again one datagram at a time, so none is lost: if the kernel
// refused the socket's first one with EIO/EINVAL (it or the socket cannot do GSO), GSO is
// switched off for the socket; otherwise (EMSGSIZE: the route's MTU is below the segment
// size; EIO: IPsec on the route) only that run goes unsegmented. When the kernel's buffer
// is full, the rest waits for the fd to be writable, in order.
//
// Receiving: recvmmsg(2) into one slab allocated at bind and reused for every read, with
// UDP_GRO on (Linux >= 5.0): the kernel hands over runs of same-size datagrams from one
// source as one buffer plus its segment size, and the socket splits them again. The
// callback runs once per datagram either way, with the same bytes and source; after the
// datagrams of each read, the read-done callback runs once, so that the owner can act on
// the whole batch (answer it in one go) instead of on each datagram.
//
// Nothing on either path allocates per datagram. Other POSIX systems get the same code with
// one datagram per system call and no offloads.
//
// Threads: the loop's thread only. Lifetime: the socket, and any Counters passed to it,
// must be destroyed before the Loop; the Counters must outlive the socket. Closing (or
// destroying) the socket drops whatever is still queued (counted), closes the fd at once,
// and guarantees that no callback runs afterwards; a callback may close or destroy its own
// socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

#include <uv.h>

#include <peermq/counters.hpp>
#include <peermq/result.hpp>

#include "wire/endpoint.hpp"
#include "platform/handle_box.hpp"
#include "platform/loop.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {

// Bind failures a user can fix; other system failures come back in the "libuv" category.
enum class UdpError {
  address_in_use = 1,     // another socket holds the port
  address_not_available,  // the address is not one of this host's
  permission_denied,      // privileged port, or forbidden by policy
  already_bound,          // bind() called twice on one socket
};
const char* describe(UdpError e);
inline const char* category_name(UdpError) {
  return "peermq.platform.udp";
}
PEERMQ_ERROR_ENUM(UdpError)

struct UdpOptions {
  // Datagrams send() can hold before it reports "would block".
  std::size_t send_queue_datagrams = 1024;
  // Largest datagram send() accepts: the size of each queue slot.
  std::size_t max_send_datagram = limits::kUdpPayloadMax;
  // Received datagrams longer than this are dropped and counted, never delivered.
  std::size_t max_receive_datagram = limits::kUdpReceiveMax;
  // Asked of the kernel for each direction; a burst of datagrams waits here while the
  // node is busy, and a small buffer is where a fast node loses packets.
  int socket_buffer_bytes = static_cast<int>(4 * limits::MiB);
  // UDP generic segmentation offload on send, where the kernel has it.
  bool segmentation_offload = true;
  // UDP generic receive offload, where the kernel has it.
  bool receive_offload = true;
  // Tests only: the socket starts without UDP checksums (IPv4 SO_NO_CHECK, IPv6
  // UDP_NO_CHECK6_TX), so that the kernel really refuses its first segmented send (EINVAL);
  // checksums come back on with the fallback.
  bool force_gso_refusal = false;
  // Counter names start with this, so several sockets can report apart or together. A
  // string with static storage (a literal): options are copied around by value, and g++ 12
  // at -O3 reports a std::string member of such aggregates as maybe-uninitialized.
  const char* counter_prefix = "udp";
};

// What the kernel granted, as getsockopt(2) reports it (Linux doubles the request to
// account for its bookkeeping, and caps it at net.core.[rw]mem_max unless privileged).
struct UdpBufferSizes {
  int send = 0;
  int receive = 0;
};

class UdpSocket {
 public:
  // `data` points into the receive slab and is valid only during the call: copy what you
  // keep. A zero-length datagram arrives as an empty span.
  using ReceiveCallback =
      std::function<void(std::span<const std::uint8_t> data, const Endpoint& from)>;
  using ReadDoneCallback = std::function<void()>;

  // Throws std::invalid_argument for impossible options, std::system_error if libuv
  // cannot create the handles (start-up only).
  UdpSocket(Loop& loop, Counters& counters, UdpOptions options = {});
  ~UdpSocket() { close(); }
  // A moved-from socket may only be destroyed or assigned to.
  UdpSocket(UdpSocket&&) noexcept = default;
  UdpSocket& operator=(UdpSocket&& other) noexcept;

  // Set before bind() to receive from the start. Not from inside the callback itself.
  void on_receive(ReceiveCallback callback);
  // Called after every read (one recvmmsg(2)) that delivered at least one datagram, once
  // all of them went through on_receive. It may send, flush and close the socket. Set
  // before bind(), like on_receive.
  void on_read_done(ReadDoneCallback callback);

  // Opens the socket on `local` (port 0: the kernel picks one, see local_endpoint()),
  // sizes its buffers, turns the offloads on and starts receiving. UdpError for the usual
  // mistakes; a failed bind leaves the socket unbound and usable. After close(): UV_EBADF.
  Result<void> bind(const Endpoint& local);
  Result<Endpoint> local_endpoint() const;
  // Between a successful bind() and close().
  bool bound() const noexcept { return box_ && box_.state().fd >= 0; }
  UdpBufferSizes buffer_sizes() const noexcept { return buffer_sizes_; }
  // Whether this socket reads with recvmmsg(2) (Linux).
  bool using_recvmmsg() const noexcept;
  // Whether sends still use segmentation offload (false once the kernel refused it).
  bool using_gso() const noexcept { return box_ && box_.state().gso; }
  // Whether the kernel accepted UDP_GRO for this socket.
  bool using_gro() const noexcept { return box_ && box_.state().gro; }

  // Copies `data` for `to` into the send queue (only between bind() and close()). False when the
  // queue is full ("would block"): nothing was queued; flush(), or wait for the next loop
  // iteration, and apply backpressure meanwhile. `data` longer than max_send_datagram, or `to` with
  // Family::none, is a programmer error (std::invalid_argument).
  bool send(const Endpoint& to, std::span<const std::uint8_t> data);
  // Hands the queue to the kernel now, in batches. When the kernel's buffer is full, the
  // rest stays queued and goes out as soon as the socket is writable again.
  void flush();
  std::size_t queued() const noexcept { return box_ ? box_.state().count : 0; }
  std::size_t send_capacity() const noexcept { return options_.send_queue_datagrams; }

  // Stops receiving, drops the queue, closes the fd; idempotent.
  void close() noexcept;

 private:
  struct Metrics {
    Counter* rx_datagrams;
    Counter* rx_bytes;
    Counter* rx_batches;
    Counter* rx_gro_batches;
    Counter* rx_too_long;
    Counter* rx_errors;
    Counter* tx_datagrams;
    Counter* tx_bytes;
    Counter* tx_batches;
    Counter* tx_gso_batches;
    Counter* tx_gso_refused;
    Counter* tx_blocked;
    Counter* tx_too_big;
    Counter* tx_unreachable;
    Counter* tx_denied;
    Counter* tx_other;
    Counter* tx_closed;
  };
#ifdef __linux__
  using Message = mmsghdr;
#else
  struct Message {  // mmsghdr's layout, for the one-by-one fallback
    msghdr msg_hdr;
    unsigned msg_len;
  };
#endif
  // One sendmmsg entry: a run of `slots` queued datagrams (several only with GSO).
  struct Outgoing {
    std::size_t slots = 0;
    // UDP_SEGMENT's control message (a cmsghdr and a uint16_t), aligned for cmsghdr.
    alignas(8) std::uint8_t control[24]{};
  };
  // Everything libuv callbacks reach; lives in the handle's block until libuv lets go.
  struct State {
    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State();

    uv_poll_t* handle = nullptr;
    int fd = -1;
    Metrics metrics{};
    ReceiveCallback receive;
    ReadDoneCallback read_done;
    // Receiving: recvmmsg targets, each a chunk of the slab with room for a source address
    // and a UDP_GRO control message; all reused for every read. The slab and the send
    // arena are left uninitialised: pages never written stay unallocated (2.7 MB a socket
    // zeroed made 1,100 nodes of one process spend most of their start in clear_page).
    std::unique_ptr<std::uint8_t[]> slab;
    std::vector<sockaddr_storage> sources;
    std::vector<std::uint64_t> receive_control;
    std::vector<iovec> receive_iovecs;
    std::vector<Message> receive_messages;
    std::size_t max_receive = 0;
    // Send queue: a ring of `slots` fixed-size slots starting at `head`.
    std::unique_ptr<std::uint8_t[]> arena;
    std::vector<sockaddr_storage> addresses;
    std::vector<socklen_t> address_lengths;
    std::vector<iovec> iovecs;   // one per slot, pointing into `arena`; iov_len = length
    std::vector<Message> batch;  // the next sendmmsg call, built by flush()
    std::vector<Outgoing> outgoing;
    std::size_t slot_size = 0;
    std::size_t slots = 0;
    std::size_t head = 0;
    std::size_t count = 0;
    // Datagrams at the head to send one by one: their run was refused as too big for GSO.
    std::size_t unsegmented = 0;
    bool v6_socket = false;  // IPv4 destinations are sent as v4-mapped addresses
    bool gso = false;
    bool gso_worked = false;  // a segmented message went out: the kernel can do it
    bool gro = false;
    bool waiting_writable = false;  // the kernel's send buffer was full
    bool checksums_off = false;     // UdpOptions::force_gso_refusal, until the refusal
  };
  // prepare and check handles flush the queue around every poll; they only point at State.
  struct FlushState {
    State* udp = nullptr;
  };
  using Box = HandleBox<uv_poll_t, State>;
  using PrepareBox = HandleBox<uv_prepare_t, FlushState>;
  using CheckBox = HandleBox<uv_check_t, FlushState>;

  static void init_state(State& state, const Metrics& metrics, const UdpOptions& options);
  static void enable_offloads(State& state, const UdpOptions& options);
  static void set_checksums(State& state, bool on);
  static void flush(State& state);
  static unsigned build_batch(State& state);
  static std::size_t segment_run(const State& state, std::size_t first, std::size_t left);
  static void pop(State& state, std::size_t n, bool sent);
  static void count_send_error(State& state, int error, std::size_t datagrams);  // errno
  static void wait_writable(State& state, bool wait);
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void receive(uv_poll_t* handle);
  static bool deliver(uv_poll_t* handle, const Message& message, std::size_t chunk,
                      std::size_t& datagrams);

  Loop* loop_ = nullptr;
  UdpOptions options_;
  Metrics metrics_{};
  ReceiveCallback receive_;  // until bind() moves it into the State
  ReadDoneCallback read_done_;  // the same
  UdpBufferSizes buffer_sizes_;
  Box box_;
  PrepareBox prepare_;
  CheckBox check_;
};

}  // namespace peermq::platform

PEERMQ_ERROR_ENUM_STD(peermq::platform::UdpError)
