#include "platform/child_command.hpp"

#include <csignal>
#include <utility>

namespace peermq::platform {
namespace {

Result<void> open_pipe(Loop& loop, auto& box) {
  auto opened = std::remove_reference_t<decltype(box)>::open(
      loop, [](uv_loop_t* l, uv_pipe_t* p) { return uv_pipe_init(l, p, 0); });
  if (!opened) return opened.error();
  box = std::move(opened).value();
  return {};
}

uv_stream_t* as_stream(uv_pipe_t* pipe) noexcept {
  return reinterpret_cast<uv_stream_t*>(pipe);  // libuv's idiom: a pipe is a stream
}

}  // namespace

Result<void> ChildCommand::start(const std::string& command, std::span<const std::uint8_t> input,
                                 std::size_t limit, Callback done) {
  if (running()) return uv_error(UV_EBUSY);
  stop();
  if (auto r = open_pipe(*loop_, in_); !r) return r;
  if (auto r = open_pipe(*loop_, out_); !r) {
    in_.close();
    return r;
  }
  in_.state().owner = this;
  out_.state().owner = this;

  std::string shell = shell_, dash_c = "-c", text = command;
  char* args[] = {shell.data(), dash_c.data(), text.data(), nullptr};
  uv_stdio_container_t stdio[3];
  stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
  stdio[0].data.stream = as_stream(in_.get());
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = as_stream(out_.get());
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t options{};
  options.file = shell.c_str();
  options.args = args;
  options.exit_cb = on_exit;
  options.stdio_count = 3;
  options.stdio = stdio;
  // Its own process group, so that stop() reaches what the shell started too (`sleep 30;
  // echo done` forks sleep; killing only the shell would leave sleep running).
  options.flags = UV_PROCESS_DETACHED;
  // Unlike other handles, a process handle exists even when uv_spawn fails and must still
  // be closed (libuv's documentation, PR 5055): the box takes it either way.
  int spawn_status = 0;
  auto spawned = Process::open(*loop_, [&](uv_loop_t* l, uv_process_t* p) {
    spawn_status = uv_spawn(l, p, &options);
    return 0;
  });
  if (spawned) process_ = std::move(spawned).value();
  if (!spawned || spawn_status < 0) {
    process_.close();
    in_.close();
    out_.close();
    return spawned ? uv_error(spawn_status) : spawned.error();
  }
  process_.state().owner = this;

  done_ = std::move(done);
  limit_ = limit;
  outcome_ = Outcome{};
  exited_ = false;
  output_closed_ = false;
  if (int s = uv_read_start(
          as_stream(out_.get()),
          [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
            auto* state = Pipe::state_of(reinterpret_cast<uv_pipe_t*>(handle));
            if (state == nullptr) {
              *buf = uv_buf_init(nullptr, 0);
              return;
            }
            ChildCommand& self = *state->owner;
            *buf = uv_buf_init(reinterpret_cast<char*>(self.read_buffer_),
                               sizeof self.read_buffer_);
          },
          on_read);
      s < 0) {
    stop();
    return uv_error(s);
  }
  if (input.empty()) {
    in_.close();  // the command sees end of input at once
  } else {
    PipeState& in = in_.state();
    in.input.assign(input.begin(), input.end());
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(in.input.data()),
                               static_cast<unsigned>(in.input.size()));
    if (int s = uv_write(&in.write, as_stream(in_.get()), &buf, 1, on_written); s < 0) {
      in_.close();  // it stopped reading already: its output still counts
    }
  }
  return {};
}

void ChildCommand::stop() noexcept {
  if (process_ && !exited_) (void)uv_kill(-process_.get()->pid, SIGKILL);  // the whole group
  process_.close();
  in_.close();
  out_.close();
  done_ = nullptr;
}

void ChildCommand::on_exit(uv_process_t* process, std::int64_t status, int signal) {
  ProcessState* state = Process::state_of(process);
  if (state == nullptr) return;
  ChildCommand& self = *state->owner;
  self.exited_ = true;
  if (signal != 0) {
    self.outcome_.why = "command killed by signal " + std::to_string(signal);
  } else if (status != 0) {
    self.outcome_.why = "command exited with status " + std::to_string(status);
  } else {
    self.outcome_.ok = true;
  }
  self.finish_if_done();
}

void ChildCommand::on_written(uv_write_t* request, int) {
  // Written, or the command closed its input first (EPIPE), or we closed (ECANCELED): the
  // command gets end of input either way.
  auto* pipe = reinterpret_cast<uv_pipe_t*>(request->handle);
  if (PipeState* state = Pipe::state_of(pipe); state != nullptr) state->owner->in_.close();
}

void ChildCommand::on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
  PipeState* state = Pipe::state_of(reinterpret_cast<uv_pipe_t*>(stream));
  if (state == nullptr) return;
  ChildCommand& self = *state->owner;
  if (n > 0) {
    const std::size_t room = self.limit_ - std::min(self.limit_, self.outcome_.output.size());
    const std::size_t take = std::min(static_cast<std::size_t>(n), room);
    self.outcome_.output.insert(self.outcome_.output.end(), self.read_buffer_,
                                self.read_buffer_ + take);
    return;
  }
  if (n == 0) return;  // EAGAIN: nothing this time
  self.output_closed_ = true;  // UV_EOF, or an error: no more output either way
  self.out_.close();
  self.finish_if_done();
}

void ChildCommand::finish_if_done() {
  if (!exited_ || !output_closed_) return;
  Callback done = std::move(done_);
  Outcome outcome = std::move(outcome_);
  process_.close();
  in_.close();
  done_ = nullptr;
  if (done) done(std::move(outcome));  // may destroy *this: nothing after it
}

}  // namespace peermq::platform
