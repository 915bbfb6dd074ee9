// UdpSocket: the node's datagram socket, batched both ways for hundreds of thousands of
// datagrams per second.
//
// Receiving: libuv reads with recvmmsg(2) (UV_UDP_RECVMMSG) into one slab allocated at
// construction and reused for every read, and calls back once per datagram. Sending:
// send() copies the datagram into a bounded queue of preallocated slots and returns at
// once; the queue goes out with sendmmsg(2), up to 64 datagrams per system call, when the
// caller calls flush() or, automatically, right before the loop waits for I/O and right
// after it handled I/O. So a caller just calls send() as often as it likes within its
// callbacks, and the datagrams of one loop iteration leave together.
//
// Nothing on either path allocates per datagram.
//
// Threads: the loop's thread only. Lifetime: the socket, and any Counters passed to it,
// must be destroyed before the Loop; the Counters must outlive the socket. Closing (or
// destroying) the socket drops whatever is still queued (counted) and guarantees that no
// callback runs afterwards; a callback may close or destroy its own socket.
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

#include "runtime/endpoint.hpp"
#include "runtime/handle_box.hpp"
#include "runtime/loop.hpp"
#include "wire/limits.hpp"

namespace peermq::runtime {

// Bind failures a user can fix; other libuv failures come back in the "libuv" category.
enum class UdpError {
  address_in_use = 1,     // another socket holds the port
  address_not_available,  // the address is not one of this host's
  permission_denied,      // privileged port, or forbidden by policy
  already_bound,          // bind() called twice on one socket
};
const char* describe(UdpError e);
inline const char* category_name(UdpError) {
  return "peermq.runtime.udp";
}
PEERMQ_ERROR_ENUM(UdpError)

struct UdpOptions {
  // Datagrams send() can hold before it reports "would block".
  std::size_t send_queue_datagrams = 1024;
  // Largest datagram send() accepts: the size of each queue slot.
  std::size_t max_send_datagram = limits::udp_payload_max;
  // Received datagrams longer than this are dropped and counted, never delivered.
  std::size_t max_receive_datagram = limits::udp_receive_max;
  // Asked of the kernel for each direction; a burst of datagrams waits here while the
  // node is busy, and a small buffer is where a fast node loses packets.
  int socket_buffer_bytes = static_cast<int>(4 * limits::MiB);
  // Counter names start with this, so several sockets can report apart or together.
  std::string counter_prefix = "udp";
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

  // Throws std::system_error if libuv cannot create the handles (start-up only).
  UdpSocket(Loop& loop, Counters& counters, UdpOptions options = {});
  ~UdpSocket() { close(); }
  // A moved-from socket may only be destroyed or assigned to.
  UdpSocket(UdpSocket&&) noexcept = default;
  UdpSocket& operator=(UdpSocket&& other) noexcept;

  // Set before bind() to receive from the start. Not from inside the callback itself.
  void on_receive(ReceiveCallback callback);

  // Opens the socket on `local` (port 0: the kernel picks one, see local_endpoint()),
  // sizes its buffers and starts receiving. UdpError for the usual mistakes.
  Result<void> bind(const Endpoint& local);
  Result<Endpoint> local_endpoint() const;
  // Between a successful bind() and close().
  bool bound() const noexcept { return box_ && box_.state().bound; }
  UdpBufferSizes buffer_sizes() const noexcept { return box_.state().buffer_sizes; }
  // Whether libuv reads with recvmmsg(2) on this system.
  bool using_recvmmsg() const noexcept;

  // Copies `data` for `to` into the send queue (only between bind() and close()). False when the
  // queue is full ("would block"): nothing was queued; flush(), or wait for the next loop
  // iteration, and apply backpressure meanwhile. `data` longer than max_send_datagram, or `to` with
  // Family::none, is a programmer error (std::invalid_argument).
  bool send(const Endpoint& to, std::span<const std::uint8_t> data);
  // Hands the queue to the kernel now, in batches. When the kernel's buffer is full, the
  // rest stays queued and goes out as soon as the socket is writable again.
  void flush();
  std::size_t queued() const noexcept { return box_ ? box_.state().count : 0; }
  std::size_t send_capacity() const noexcept { return box_ ? box_.state().slots : 0; }

  // Stops receiving, drops the queue; idempotent.
  void close() noexcept;

 private:
  struct Metrics {
    Counter* rx_datagrams;
    Counter* rx_bytes;
    Counter* rx_batches;
    Counter* rx_too_long;
    Counter* rx_errors;
    Counter* tx_datagrams;
    Counter* tx_bytes;
    Counter* tx_batches;
    Counter* tx_blocked;
    Counter* tx_too_big;
    Counter* tx_unreachable;
    Counter* tx_denied;
    Counter* tx_other;
    Counter* tx_closed;
  };
  // Everything libuv callbacks reach; lives in the handle's block until libuv lets go.
  struct State {
    uv_udp_t* handle = nullptr;
    Metrics metrics{};
    ReceiveCallback receive;
    std::vector<std::uint8_t> slab;  // recvmmsg target, reused for every read
    std::size_t max_receive = 0;
    std::size_t batch_datagrams = 0;  // delivered so far from the current recvmmsg
    // Send queue: a ring of `slots` fixed-size slots starting at `head`.
    std::vector<std::uint8_t> arena;
    std::vector<sockaddr_storage> addresses;
    std::vector<socklen_t> address_lengths;
    std::vector<std::uint32_t> lengths;
#ifdef __linux__
    std::vector<iovec> iovecs;      // one per slot, pointing into `arena`
    std::vector<mmsghdr> messages;  // one per slot, for sendmmsg straight off the ring
#endif
    std::size_t slot_size = 0;
    std::size_t slots = 0;
    std::size_t head = 0;
    std::size_t count = 0;
    bool bound = false;
    bool v6_socket = false;  // IPv4 destinations are sent as v4-mapped addresses
    // The head datagram handed to libuv to wait for writability (see flush()).
    uv_udp_send_t parked{};
    bool is_parked = false;
    UdpBufferSizes buffer_sizes;
  };
  // prepare and check handles flush the queue around every poll; they only point at State.
  struct FlushState {
    State* udp = nullptr;
  };
  using Box = HandleBox<uv_udp_t, State>;
  using PrepareBox = HandleBox<uv_prepare_t, FlushState>;
  using CheckBox = HandleBox<uv_check_t, FlushState>;

  static void init_state(State& state, Counters& counters, const UdpOptions& options);
  static void flush(State& state);
  static void pop(State& state, std::size_t n, bool sent);
  static bool park(State& state);
  static void count_send_error(State& state, int status);
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                      unsigned flags);
  static void on_parked_sent(uv_udp_send_t* request, int status);

  int socket_buffer_bytes_ = 0;
  Box box_;
  PrepareBox prepare_;
  CheckBox check_;
};

}  // namespace peermq::runtime

PEERMQ_ERROR_ENUM_STD(peermq::runtime::UdpError)
