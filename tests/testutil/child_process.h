// Child processes for cross-process tests (ember serve, prometheus, promtool), on 127.0.0.1
// only. A ChildProcess is tracked by its PID alone: it is signalled and reaped by that PID,
// never by name, and its destructor SIGKILLs and reaps it if it still runs. Every wait is
// bounded. Header-only (inline) because it is shared by test binaries that link no extra
// library. Not thread-safe: one thread owns a ChildProcess.
#ifndef EMBER_TESTS_TESTUTIL_CHILD_PROCESS_H_
#define EMBER_TESTS_TESTUTIL_CHILD_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace ember::testutil {

// A port on 127.0.0.1 that was free a moment ago: bound to port 0, read back, closed. Another
// process may take it before the caller binds it; tests accept that small race.
inline absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: errno ", errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: errno ", e));
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

// Whether `path` names an executable file.
inline bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// Calls `done` every `poll_ms` until it returns true (true) or `timeout_ms` passed (false).
inline bool WaitFor(const std::function<bool()>& done, int64_t timeout_ms, int64_t poll_ms = 100) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

// The last `max_bytes` of a file, for failure messages (a child's log).
inline std::string FileTail(const std::string& path, size_t max_bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string s = buf.str();
  return s.size() <= max_bytes ? s : "..." + s.substr(s.size() - max_bytes);
}

// A started child whose stdout and stderr go to one log file.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (a path) with `argv`, appending its stdout and stderr to `log_path`.
  // REQUIRES: no child is running.
  absl::Status Start(const std::vector<std::string>& argv, const std::string& log_path) {
    if (pid_ > 0) return absl::FailedPreconditionError("a child is already running");
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) return absl::InternalError(absl::StrCat("open ", log_path, ": errno ", errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    // dup2 clears FD_CLOEXEC on the child's copies; `log` itself closes at exec.
    posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(log);
    if (rc != 0) {
      return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": errno ", rc));
    }
    pid_ = pid;
    log_path_ = log_path;
    exit_status_.reset();
    return absl::OkStatus();
  }

  pid_t pid() const { return pid_; }
  bool running() {
    Poll();
    return pid_ > 0;
  }
  const std::string& log_path() const { return log_path_; }

  // Sends `sig` to the child (by PID) if it has not been reaped.
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Waits up to `timeout_ms` for the child to end; its wait status, or nullopt on timeout. Also
  // returns the status of a child reaped earlier.
  std::optional<int> Wait(int64_t timeout_ms) {
    WaitFor([this] { return !running(); }, timeout_ms, 20);
    return exit_status_;
  }

  // SIGTERM, up to `grace_ms` for it to end, then SIGKILL. The wait status.
  int Stop(int64_t grace_ms = 10'000) {
    Signal(SIGTERM);
    if (std::optional<int> st = Wait(grace_ms); st.has_value()) return *st;
    Kill();
    return exit_status_.value_or(-1);
  }

  // SIGKILL and reap (bounded: a SIGKILLed child is reaped within seconds).
  void Kill() {
    if (pid_ <= 0) return;
    Signal(SIGKILL);
    Wait(30'000);
  }

  // Wait status of the ended child: nullopt while it runs or before it started.
  const std::optional<int>& exit_status() const { return exit_status_; }

 private:
  void Poll() {
    if (pid_ <= 0) return;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = status;
      pid_ = -1;
    } else if (r < 0 && errno != EINTR) {
      pid_ = -1;  // Not our child any more (should not happen).
    }
  }

  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_status_;
};

// "exit 0", "signal 9"...
inline std::string DescribeWaitStatus(const std::optional<int>& status) {
  if (!status.has_value()) return "still running";
  if (WIFEXITED(*status)) return absl::StrCat("exit ", WEXITSTATUS(*status));
  if (WIFSIGNALED(*status)) return absl::StrCat("signal ", WTERMSIG(*status));
  return absl::StrCat("wait status ", *status);
}

struct CommandResult {
  int wait_status = 0;
  std::string out;  // stdout
  std::string err;  // stderr
  bool exited_zero() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }
};

// Runs argv[0] (a path) to completion, capturing stdout and stderr. DeadlineExceeded (after
// SIGKILLing it) when it runs longer than `timeout_ms`.
inline absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                                int64_t timeout_ms = 30'000) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": errno ", rc));
  }
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const int64_t left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count();
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    const int n = poll(fds, 2, static_cast<int>(left_ms));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[1 << 14];
      const ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        sinks[i]->append(buf, static_cast<size_t>(r));
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (timed_out) kill(pid, SIGKILL);  // Not reaped yet, so `pid` is still our child.
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        absl::StrJoin(argv, " "), ": still running after ", timeout_ms, " ms; killed"));
  }
  result.wait_status = status;
  return result;
}

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_CHILD_PROCESS_H_
