// A small harness for the end-to-end tests: run a program with its standard streams on pipes, wait
// for a line on its stderr, write to its stdin, and wait for it to exit — every wait bounded, so a
// test never hangs on a stuck child.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/common/skip_outside_ci.h"

namespace profilis::e2e {

using namespace std::chrono_literals;

// How a child ended.
struct ExitStatus {
  bool timed_out = false;  // it outlived the wait and was killed with SIGKILL
  int code = -1;           // exit code, when it exited
  int signal = 0;          // the signal that ended it, when one did

  bool exited() const { return !timed_out && signal == 0 && code >= 0; }
  std::string describe() const;  // "exit code 2", "killed by signal 11", "timed out"
};

class Process {
 public:
  // Starts argv[0] (looked up in PATH when it has no slash). Throws std::runtime_error on failure.
  explicit Process(std::vector<std::string> argv);
  ~Process();  // a child still running is killed with SIGKILL and reaped
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Reads the child's output until a stderr line contains `needle`, the child exits, or `timeout`
  // passes. Returns whether the line was seen.
  bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout);

  // Writes to the child's stdin; false when it could not (e.g. the child is gone).
  bool write_stdin(std::string_view text);
  void close_stdin();

  // Sends a signal to the child if it is still running.
  void signal(int sig);

  // Waits up to `timeout` for the child to exit, collecting its output meanwhile; after that the
  // child is killed with SIGKILL and the result says timed_out. Later calls return the same result.
  ExitStatus wait(std::chrono::milliseconds timeout);

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Reads whatever the pipes hold, waiting at most `timeout` for something; false once both are
  // closed.
  bool pump(std::chrono::milliseconds timeout);
  bool reap(bool block);
  void drain_after_exit();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string out_;
  std::string err_;
  size_t err_scanned_ = 0;  // stderr before this offset was already searched (complete lines)
  std::optional<ExitStatus> status_;
};

// Runs argv to completion (stdin closed) and returns the exit status; output in `out`/`err`.
ExitStatus run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
               std::string* out = nullptr, std::string* err = nullptr);

// Why this test cannot run (not root), or nothing when it can.
std::optional<std::string> missing_root();

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback port nothing listens on right now (the kernel's pick for an ephemeral bind).
int free_port();

// The contents of a file, or nothing when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

}  // namespace profilis::e2e

// Use first in a test body that needs root: skips the test outside CI, fails it in CI.
#define PROFILIS_REQUIRE_ROOT()                                   \
  do {                                                            \
    if (auto profilis_reason = ::profilis::e2e::missing_root()) { \
      PROFILIS_SKIP_OUTSIDE_CI(*profilis_reason);                 \
    }                                                             \
  } while (0)
