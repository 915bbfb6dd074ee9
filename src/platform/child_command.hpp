// ChildCommand: runs `/bin/sh -c COMMAND` with some bytes on its standard input and
// collects its standard output, on the loop (libuv's uv_spawn and two pipes), so the node
// keeps serving the network while the command runs: a consumer whose -exec command takes a
// minute still answers its broker's packets and sends its keepalives meanwhile.
//
// One command at a time per object. The callback runs once the command has exited and its
// standard output is closed; output beyond `limit` bytes is read and dropped. Standard
// error is the node's own. A command that does not read its input is no error (the rest of
// the input is dropped; SIGPIPE must be ignored by the process, as the consumer does).
//
// The command runs in a process group of its own. Destroying the object (or stop()) kills
// that group with SIGKILL (the shell and whatever it started) and never calls back. The callback may destroy the object. Threads: the loop's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <peermq/result.hpp>

#include "platform/handle_box.hpp"
#include "platform/loop.hpp"

namespace peermq::platform {

class ChildCommand {
 public:
  struct Outcome {
    bool ok = false;                  // exited with status 0
    std::vector<std::uint8_t> output; // standard output, at most `limit` bytes
    std::string why;                  // when not ok: "command exited with status 3", ...
  };
  using Callback = std::function<void(Outcome&& outcome)>;

  // `shell` runs the command as `shell -c COMMAND`; tests name one that does not exist.
  explicit ChildCommand(Loop& loop, std::string shell = "/bin/sh")
      : loop_(&loop), shell_(std::move(shell)) {}
  ~ChildCommand() { stop(); }
  ChildCommand(const ChildCommand&) = delete;
  ChildCommand& operator=(const ChildCommand&) = delete;

  // Starts the command; fails with libuv's error (no such shell, out of processes or file
  // descriptors), and with UV_EBUSY while another command of this object runs.
  Result<void> start(const std::string& command, std::span<const std::uint8_t> input,
                     std::size_t limit, Callback done);
  // Kills a running command (SIGKILL) without calling back; idempotent.
  void stop() noexcept;
  bool running() const noexcept { return static_cast<bool>(process_); }

 private:
  struct PipeState {
    ChildCommand* owner = nullptr;
    std::vector<std::uint8_t> input;  // stdin only: what uv_write sends, alive until closed
    uv_write_t write{};
  };
  struct ProcessState {
    ChildCommand* owner = nullptr;
  };
  using Pipe = HandleBox<uv_pipe_t, PipeState>;
  using Process = HandleBox<uv_process_t, ProcessState>;

  static void on_exit(uv_process_t* process, std::int64_t status, int signal);
  static void on_written(uv_write_t* request, int status);
  static void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf);
  void finish_if_done();

  Loop* loop_;
  std::string shell_;
  Process process_;
  Pipe in_, out_;
  Callback done_;
  std::size_t limit_ = 0;
  Outcome outcome_;
  bool exited_ = false;
  bool output_closed_ = false;
  std::uint8_t read_buffer_[65536];
};

}  // namespace peermq::platform
