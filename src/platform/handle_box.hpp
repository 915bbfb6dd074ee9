// HandleBox<uv_xxx_t, State>: owns one libuv handle the way libuv wants it owned.
//
// libuv may touch a handle until its close callback has run, which is always a later loop
// iteration than uv_close(). So the handle cannot live inside a C++ object whose
// destructor runs at uv_close() time. Instead it lives in a heap Block next to the
// owner's callback State; the box (a member of Timer, Udp, ...) points at it:
//
//   Timer --owns--> HandleBox --points at--> Block { uv_timer_t, State, open }
//                                                ^ handle.data
//
// close() (also the destructor) marks the block closed and calls uv_close(); the close
// callback deletes the block. Until then the State, and the std::function in it, stays
// alive: an owner may destroy itself from inside its own callback, and a callback of a
// request still in flight at close (a UDP send completing with UV_ECANCELED) finds
// state_of() == nullptr instead of a dead owner.
//
// Boxes move (the block does not), so owners built on them can move too.
// Threads: the loop's thread only, like the Loop itself.
#pragma once

#include <memory>
#include <utility>

#include <uv.h>

#include <peermq/result.hpp>

#include "platform/loop.hpp"
#include "platform/uv_error.hpp"

namespace peermq::platform {

template <class Handle, class State>
class HandleBox {
 public:
  struct Block {
    Handle handle{};
    State state{};
    Loop* loop = nullptr;
    bool open = true;  // false once the owner let go: callbacks must not reach it
  };

  HandleBox() = default;  // holds nothing
  ~HandleBox() { close(); }
  HandleBox(HandleBox&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  HandleBox& operator=(HandleBox&& other) noexcept {
    if (this != &other) {
      close();
      block_ = std::exchange(other.block_, nullptr);
    }
    return *this;
  }

  // Initialises a new handle with `init(uv_loop_t*, Handle*)` (e.g. uv_timer_init), or
  // returns libuv's error, in which case no handle exists and nothing needs closing.
  template <class Init>
  static Result<HandleBox> open(Loop& loop, Init&& init) {
    auto block = std::make_unique<Block>();
    if (int status = std::forward<Init>(init)(loop.raw(), &block->handle); status < 0)
      return uv_error(status);
    block->handle.data = block.get();
    block->loop = &loop;
    ++loop.open_handles_;
    HandleBox box;
    box.block_ = block.release();
    return box;
  }

  // Stops all callbacks to the owner and hands the memory to libuv; idempotent.
  void close() noexcept {
    if (block_ == nullptr) return;
    Block* block = std::exchange(block_, nullptr);
    block->open = false;
    --block->loop->open_handles_;
    uv_close(as_uv_handle(&block->handle),
             [](uv_handle_t* handle) { delete static_cast<Block*>(handle->data); });
  }

  explicit operator bool() const noexcept { return block_ != nullptr; }
  // Valid only while the box holds a handle.
  Handle* get() const noexcept { return &block_->handle; }
  State& state() const noexcept { return block_->state; }
  Loop& loop() const noexcept { return *block_->loop; }

  // For libuv callbacks: the owner's State behind `handle`, or nullptr if the owner has
  // closed it. Request callbacks reach it through req->handle.
  static State* state_of(Handle* handle) noexcept {
    auto* block = static_cast<Block*>(handle->data);
    return block->open ? &block->state : nullptr;
  }

  static uv_handle_t* as_uv_handle(Handle* handle) noexcept {
    // libuv's own idiom: every handle type starts with the uv_handle_t fields.
    return reinterpret_cast<uv_handle_t*>(handle);
  }

 private:
  Block* block_ = nullptr;
};

}  // namespace peermq::platform
