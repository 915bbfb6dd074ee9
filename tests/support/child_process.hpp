// ChildProcess: a real process for integration tests, spawned from an argv and an
// environment, with its stdout and stderr in files of the test's own temporary directory.
//
// Contract
// - Every child is started in a process group of its own (its pid), so that killing it
//   also kills what it started (a consumer's -exec command). The destructor SIGKILLs the
//   group of a child still running and reaps it, also when the test failed or threw; and
//   each child gets SIGKILL from the kernel when the test process dies (PR_SET_PDEATHSIG),
//   even when a test runner's timeout kills it: no test leaves a process behind.
// - Every wait is bounded in time (and every poll loop in count): wait_for(), kill_now(),
//   stop(), wait_until() and wait_quiet() take or use a timeout and report when it passed.
// - The environment is the test's own minus every PEERMQ_* variable (a PEERMQ_BROKER or
//   PEERMQ_LISTEN of the user running the tests must not leak in), plus the overrides.
// - Output is read back from the files: whole (stdout_text), as complete lines
//   (stdout_lines), or incrementally (LineFollower), so a test can follow a child's
//   progress while it runs.
//
// TempDir: a fresh directory (mkdtemp, mode 0700) removed with everything in it on
// destruction, unless PEERMQ_TEST_KEEP is set in the environment (then its path is kept
// for a look after a failure).
//
// Threads: one. Header-only: tests/support is not a test layer of its own.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace peermq::test {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Calls `done` every `step` until it returns true (then true) or `timeout` has passed
// (then false, after one last call).
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds step = 10ms) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (SteadyClock::now() >= deadline) return done();
    std::this_thread::sleep_for(step);
  }
}

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// The bytes of `path` from `offset` on (empty if it cannot be read). POSIX reads: GCC 12
// reports a false null dereference inside std::ifstream at -O2 with -Wnull-dereference.
inline std::string read_text_file(const std::filesystem::path& path, std::size_t offset = 0) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset + out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

inline bool write_text_file(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0 && done == bytes.size();
}

// The complete lines of `text` (a last line without '\n' is still being written: left out).
inline std::vector<std::string> complete_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string_view::npos;
       nl = text.find('\n', start)) {
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// The last `n` lines of `text`, for failure messages.
inline std::string tail_lines(const std::string& text, std::size_t n) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;  // the final newline ends the last line
  for (std::size_t seen = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++seen == n) break;
  }
  return text.substr(pos);
}

// Whether the thread whose /proc/<pid>/task/<tid>/stat is `stat_path` is asleep (state S).
inline bool thread_asleep(const std::filesystem::path& stat_path) {
  const std::string stat = read_text_file(stat_path);
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
}

// Whether process `pid` is idle on Linux: every thread of it asleep (state S in
// /proc/<pid>/task/<tid>/stat; a pool thread in fdatasync is in D, a busy one in R) with no
// datagram waiting in any of its UDP sockets (rx_queue 0 in /proc/net/udp and udp6 for each
// socket inode among its /proc/<pid>/fd). Then everything it was sent has been read and
// acted upon. False when it cannot tell.
inline bool process_idle(pid_t pid) {
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  bool any_thread = false;
  for (const auto& task : std::filesystem::directory_iterator(proc / "task", ec)) {
    if (!thread_asleep(task.path() / "stat")) return false;
    any_thread = true;
  }
  if (ec || !any_thread) return false;
  std::vector<std::string> inodes;
  for (const auto& entry : std::filesystem::directory_iterator(proc / "fd", ec)) {
    const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.starts_with("socket:[") && target.ends_with("]"))
      inodes.push_back(target.substr(8, target.size() - 9));
  }
  if (ec) return false;
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::istringstream lines(read_text_file(table));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (std::find(inodes.begin(), inodes.end(), inode) == inodes.end()) continue;
      const auto colon = queues.find(':');
      if (colon == std::string::npos) return false;
      if (std::strtoul(queues.c_str() + colon + 1, nullptr, 16) != 0) return false;
    }
  }
  return true;
}

// Waits until every process of `pids` is idle (process_idle) at three polls in a row, 20 ms
// apart, while `progress` (if given: a count of what the test has seen, lines read say)
// stays the same: all they were sent has been read and acted upon, and nothing new comes.
// This is the event a test waits for before it concludes that something did not happen.
// False if it did not come within `timeout`.
inline bool wait_quiet(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout,
                       const std::function<std::uint64_t()>& progress = {}) {
  int rounds = 0;
  std::uint64_t before = progress ? progress() : 0;
  return wait_until(
      [&] {
        bool idle = true;
        for (pid_t pid : pids) idle = idle && process_idle(pid);
        const std::uint64_t now = progress ? progress() : 0;
        rounds = idle && now == before ? rounds + 1 : 0;
        before = now;
        return rounds >= 3;
      },
      timeout, 20ms);
}

class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr)
      throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    path_ = buf.data();
  }
  ~TempDir() {
    if (std::getenv("PEERMQ_TEST_KEEP") != nullptr) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// How a child ended: an exit code, or the signal that killed it.
struct ExitStatus {
  int code = -1;   // exit code when it exited
  int signal = 0;  // the signal that killed it, else 0

  bool exited_with(int c) const noexcept { return signal == 0 && code == c; }
  std::string describe() const {
    if (signal != 0) return "killed by signal " + std::to_string(signal);
    return "exit code " + std::to_string(code);
  }
  static ExitStatus from_wait(int status) {
    ExitStatus s;
    if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
    return s;
  }
};

// Reads the complete lines appended to a file since the last call.
class LineFollower {
 public:
  explicit LineFollower(std::filesystem::path path) : path_(std::move(path)) {}

  std::vector<std::string> poll() {
    std::vector<std::string> out;
    const std::string chunk = read_text_file(path_, offset_);
    offset_ += chunk.size();
    partial_ += chunk;
    std::size_t start = 0;
    for (std::size_t nl = partial_.find('\n'); nl != std::string::npos;
         nl = partial_.find('\n', start)) {
      out.push_back(partial_.substr(start, nl - start));
      start = nl + 1;
    }
    partial_.erase(0, start);
    lines_ += out.size();
    return out;
  }
  std::size_t lines() const noexcept { return lines_; }

 private:
  std::filesystem::path path_;
  std::size_t offset_ = 0;
  std::size_t lines_ = 0;
  std::string partial_;
};

class ChildProcess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  // Starts `args[0]` (an absolute path) with `args`, the environment described above, stdin
  // from /dev/null, stdout in <dir>/<name>.out and stderr in <dir>/<name>.err. Throws
  // std::runtime_error if it cannot be started.
  ChildProcess(std::string name, const std::filesystem::path& dir, std::vector<std::string> args,
               const Env& env = {})
      : name_(std::move(name)),
        args_(std::move(args)),
        out_(dir / (name_ + ".out")),
        err_(dir / (name_ + ".err")) {
    if (args_.empty()) throw std::runtime_error("ChildProcess " + name_ + ": no argv");
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.starts_with("PEERMQ_")) continue;
      bool overridden = false;
      for (const auto& [key, value] : env) overridden |= entry.starts_with(key + "=");
      if (!overridden) env_strings.emplace_back(entry);
    }
    for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);

    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    // Opened here, so that a failure is reported rather than lost in the child.
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int exec_error[2] = {-1, -1};  // the child writes errno here if execve fails
    const bool ready = in >= 0 && out >= 0 && err >= 0 && ::pipe2(exec_error, O_CLOEXEC) == 0;
    const int open_errno = errno;
    auto close_files = [&] {
      for (int fd : {in, out, err, exec_error[1]}) {
        if (fd >= 0) ::close(fd);
      }
    };
    if (!ready) {
      close_files();
      if (exec_error[0] >= 0) ::close(exec_error[0]);
      throw std::runtime_error("cannot start " + name_ + ": " + std::strerror(open_errno));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      // The child, until execve: only async-signal-safe calls. Its own process group; killed
      // when the test process dies, however it dies (even by SIGKILL from a test runner's
      // timeout); default dispositions and an empty mask whatever the test runner set
      // (ignored signals would stay ignored across execve).
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execve(argv[0], argv.data(), envp.data());
      const int e = errno;
      (void)!::write(exec_error[1], &e, sizeof e);
      ::_exit(127);
    }
    const int fork_errno = errno;
    close_files();
    if (pid < 0) {
      ::close(exec_error[0]);
      throw std::runtime_error("cannot start " + name_ + ": fork: " + std::strerror(fork_errno));
    }
    ::setpgid(pid, pid);  // as the child does: whichever runs first
    // EOF once execve succeeded (the pipe is close-on-exec), an errno if it failed.
    int child_errno = 0;
    ssize_t n = 0;
    while ((n = ::read(exec_error[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    ::close(exec_error[0]);
    if (n > 0) {
      int st = 0;
      ::waitpid(pid, &st, 0);  // it has exited already (_exit after the write)
      throw std::runtime_error("cannot start " + args_[0] + " (" + name_ +
                               "): " + std::strerror(child_errno));
    }
    pid_ = pid;
    started_ = SteadyClock::now();
  }

  ~ChildProcess() {
    if (pid_ <= 0 || status_) return;
    try {
      (void)kill_now();
    } catch (const std::exception&) {
      // Unkillable for 10 s (stuck in the kernel): nothing more a destructor can do.
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const noexcept { return name_; }
  pid_t pid() const noexcept { return pid_; }
  SteadyClock::time_point started() const noexcept { return started_; }
  const std::filesystem::path& stdout_path() const noexcept { return out_; }
  const std::filesystem::path& stderr_path() const noexcept { return err_; }

  // The exit status once it has ended (reaping it if it just did), else nullopt.
  std::optional<ExitStatus> status() {
    if (!status_ && pid_ > 0) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) status_ = ExitStatus::from_wait(st);
    }
    return status_;
  }
  bool running() { return !status().has_value(); }

  // Waits for the child to end by itself; nullopt if it is still running after `timeout`.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout) {
    (void)wait_until([&] { return !running(); }, timeout, 5ms);
    return status_;
  }

  // Sends `sig` to the child only (not its group).
  void signal(int sig) {
    if (running()) ::kill(pid_, sig);
  }

  // SIGKILL to the child's whole group, then reaps it (waiting at most 10 s, which only a
  // process stuck in the kernel could need). Sending is safe: an unreaped child keeps its
  // pid, and so its group id, from being reused.
  ExitStatus kill_now() {
    if (running()) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);  // in case it left its group
      if (!wait_for(10s))
        throw std::runtime_error(name_ + " (pid " + std::to_string(pid_) +
                                 ") survived SIGKILL for 10 s");
    }
    return *status_;
  }

  // SIGTERM, up to `grace` for a clean exit, then kill_now(). The bool says whether it
  // ended within the grace period.
  std::pair<ExitStatus, bool> stop(std::chrono::milliseconds grace) {
    signal(SIGTERM);
    if (auto s = wait_for(grace)) return {*s, true};
    return {kill_now(), false};
  }

  std::string stdout_text() const { return read_text_file(out_); }
  std::string stderr_text() const { return read_text_file(err_); }
  std::vector<std::string> stdout_lines() const { return complete_lines(stdout_text()); }
  std::vector<std::string> stderr_lines() const { return complete_lines(stderr_text()); }

  // The first complete stdout (or stderr) line for which `match` holds, waiting up to
  // `timeout` for it; nullopt if none came (or the child ended without writing one).
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                           std::chrono::milliseconds timeout,
                                           bool from_stderr = false) {
    std::optional<std::string> found;
    bool ended = false;
    (void)wait_until(
        [&] {
          const bool was_ended = ended;
          for (const auto& line : from_stderr ? stderr_lines() : stdout_lines()) {
            if (match(line)) {
              found = line;
              return true;
            }
          }
          ended = !running();
          return was_ended;  // one more read after it ended
        },
        timeout, 10ms);
    return found;
  }

  // For failure messages: who it is, how it ended, and the last lines of its output.
  std::string report(std::size_t lines = 15) {
    std::string r = "--- " + name_ + " (pid " + std::to_string(pid_) + ", ";
    r += status() ? status_->describe() : std::string("running");
    r += ")\n$";
    for (const auto& a : args_) r += " " + a;
    auto section = [&](const char* title, const std::string& text) {
      r += title;
      r += tail_lines(text, lines);
      if (r.back() != '\n') r += '\n';
    };
    section("\n[stdout tail]\n", stdout_text());
    section("[stderr tail]\n", stderr_text());
    return r;
  }

 private:
  std::string name_;
  std::vector<std::string> args_;
  std::filesystem::path out_;
  std::filesystem::path err_;
  pid_t pid_ = -1;
  SteadyClock::time_point started_{};
  std::optional<ExitStatus> status_;
};

}  // namespace peermq::test
