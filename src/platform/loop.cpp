#include "platform/loop.hpp"

#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "platform/uv_error.hpp"

namespace peermq::platform {

namespace {

bool any_closing(uv_loop_t* loop) {
  bool closing = false;
  uv_walk(
      loop,
      [](uv_handle_t* handle, void* any) {
        if (uv_is_closing(handle)) *static_cast<bool*>(any) = true;
      },
      &closing);
  return closing;
}

}  // namespace

Loop::Loop() {
  if (int status = uv_loop_init(&loop_); status < 0)
    throw std::system_error(uv_error(status), "cannot create the event loop");
  loop_.data = this;
}

Loop::~Loop() {
  if (open_handles_ != 0) {
    std::fprintf(stderr,
                 "peermq: bug: event loop destroyed while %zu handle owner(s) still live; "
                 "destroy timers and sockets before their Loop\n",
                 open_handles_);
    std::abort();
  }
  // libuv's MAKE_VALGRIND_HAPPY: close what is still open, let the close callbacks run,
  // and repeat until libuv has nothing left. Handles already closing finish first: a
  // library that closes its handles in stages, from close callbacks (libwebsockets on a
  // foreign loop, platform/web_listener.cpp), must not find the next ones closed for it.
  if (!at_destroy_.empty()) {
    while (any_closing(&loop_)) uv_run(&loop_, UV_RUN_NOWAIT);
    for (auto& finish : at_destroy_) finish();
  }
  while (uv_loop_close(&loop_) == UV_EBUSY) {
    if (any_closing(&loop_)) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      continue;
    }
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void*) {
          if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
}

bool Loop::run() {
  return uv_run(&loop_, UV_RUN_DEFAULT) != 0;
}
bool Loop::run_once() {
  return uv_run(&loop_, UV_RUN_ONCE) != 0;
}
bool Loop::run_nowait() {
  return uv_run(&loop_, UV_RUN_NOWAIT) != 0;
}
void Loop::stop() noexcept {
  uv_stop(&loop_);
}

Instant Loop::now() const noexcept {
  return Instant{Duration{static_cast<Duration::rep>(uv_hrtime())}};
}

}  // namespace peermq::platform
