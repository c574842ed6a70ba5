#include "tests/e2e/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace profilis::e2e {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe make_pipe() {
  int fds[2];
  // CLOEXEC so that no other child inherits our ends; dup2 onto 0/1/2 clears it for this child.
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2", errno);
  return {fds[0], fds[1]};
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

// Spawns argv with the given fds as its stdin/stdout/stderr, and SIGPIPE back at its default
// (this process ignores it, and ignored signals would otherwise stay ignored across exec).
pid_t spawn(const std::vector<std::string>& argv, int in, int out, int err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw_errno("posix_spawn " + argv[0], rc);
  return pid;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (timed_out) return "timed out (killed with SIGKILL)";
  if (signal != 0)
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

Process::Process(std::vector<std::string> argv) {
  if (argv.empty()) throw std::invalid_argument("Process: empty argv");
  // A child that exits before reading its stdin must not kill the test with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
  try {
    pid_ = spawn(argv, in.read, out.write, err.write);
  } catch (...) {
    for (int fd : {in.read, in.write, out.read, out.write, err.read, err.write}) ::close(fd);
    throw;
  }
  ::close(in.read);
  ::close(out.write);
  ::close(err.write);
  stdin_fd_ = in.write;
  stdout_fd_ = out.read;
  stderr_fd_ = err.read;
}

Process::~Process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

bool Process::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2];
  int n = 0;
  for (int fd : {stdout_fd_, stderr_fd_}) {
    if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
  }
  if (n == 0) return false;
  const int ready = ::poll(fds, n, static_cast<int>(timeout.count()));
  if (ready <= 0) return true;  // timeout, or EINTR: try again later
  for (int i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    int& fd = fds[i].fd == stdout_fd_ ? stdout_fd_ : stderr_fd_;
    std::string& sink = fds[i].fd == stdout_fd_ ? out_ : err_;
    char buf[4096];
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
      sink.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      close_fd(fd);  // EOF: the child (and anything it started) closed its end
    }
  }
  return stdout_fd_ >= 0 || stderr_fd_ >= 0;
}

bool Process::reap(bool block) {
  if (status_) return true;
  int raw = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &raw, block ? 0 : WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got != pid_) return false;
  ExitStatus status;
  if (WIFEXITED(raw)) status.code = WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
  status_ = status;
  return true;
}

// After exit, reads what is left in the pipes; bounded, in case a grandchild still holds them.
void Process::drain_after_exit() {
  const auto deadline = Clock::now() + 2s;
  while (Clock::now() < deadline && pump(remaining(deadline))) {
  }
}

bool Process::wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (err_.find(needle) == std::string::npos) {
    if (Clock::now() >= deadline) return false;
    if (!pump(std::min(remaining(deadline), std::chrono::milliseconds(50)))) {
      // Both pipes closed: nothing more will come.
      return err_.find(needle) != std::string::npos;
    }
  }
  return true;
}

bool Process::write_stdin(std::string_view text) {
  while (!text.empty() && stdin_fd_ >= 0) {
    const ssize_t put = ::write(stdin_fd_, text.data(), text.size());
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    text.remove_prefix(static_cast<size_t>(put));
  }
  return text.empty();
}

void Process::close_stdin() { close_fd(stdin_fd_); }

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

ExitStatus Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!reap(false)) {
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      reap(true);
      status_->timed_out = true;
      break;
    }
    // Keep reading so that a child blocked on a full pipe can go on; sleep when none is open.
    if (!pump(std::min(remaining(deadline), std::chrono::milliseconds(20)))) {
      std::this_thread::sleep_for(10ms);
    }
  }
  drain_after_exit();
  return *status_;
}

ExitStatus run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
               std::string* out, std::string* err) {
  Process process(argv);
  process.close_stdin();
  const ExitStatus status = process.wait(timeout);
  if (out != nullptr) *out = process.out();
  if (err != nullptr) *err = process.err();
  return status;
}

std::optional<std::string> missing_root() {
  if (::geteuid() == 0) return std::nullopt;
  return "end-to-end tests attach eBPF uprobes and need root; running as uid " +
         std::to_string(::geteuid());
}

TempDir::TempDir() {
  std::string pattern = "/tmp/profilis-e2e-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp", errno);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace profilis::e2e
