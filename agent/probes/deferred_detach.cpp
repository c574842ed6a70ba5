#include "agent/probes/deferred_detach.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/common/unique_fd.h"

namespace profilis {
namespace {

// The child runs after fork() in a multi-threaded process, so it keeps to system calls: no malloc,
// no stdio, no C++ runtime.

bool is_probe(int fd) {
  char path[64];
  char target[64] = {};
  // "/proc/self/fd/N" without snprintf.
  char digits[16];
  int n = 0;
  for (unsigned v = static_cast<unsigned>(fd); n == 0 || v != 0; v /= 10)
    digits[n++] = '0' + v % 10;
  std::memcpy(path, "/proc/self/fd/", 14);
  for (int i = 0; i < n; ++i) path[14 + i] = digits[n - 1 - i];
  path[14 + n] = '\0';
  if (::readlink(path, target, sizeof target - 1) < 0) return false;
  // A uprobe is a perf event; libbpf attaches a program to it through a BPF link.
  return std::strcmp(target, "anon_inode:[perf_event]") == 0 ||
         std::strcmp(target, "anon_inode:bpf_link") == 0;
}

// Closes every descriptor but the probes' and `keep`: the standard streams above all, so that
// whoever reads the agent's output sees its end when the agent exits.
void close_all_but_probes(int keep) {
  const unique_fd dir(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return;
  static int others[65536];
  int count = 0;
  alignas(8) char buffer[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dir.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    for (long offset = 0; offset < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      int fd = 0;
      for (const char* c = entry->d_name; *c; ++c) fd = fd * 10 + (*c - '0');
      if (fd == dir.get() || fd == keep || is_probe(fd)) continue;
      if (count < static_cast<int>(sizeof others / sizeof others[0])) others[count++] = fd;
    }
  }
  for (int i = 0; i < count; ++i) ::close(others[i]);
}

}  // namespace

void defer_detach_to_child() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return;
  unique_fd agent_alive(ends[0]);  // read by the child: EOF once the agent is gone
  unique_fd agent_holds(ends[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return;
  if (pid > 0) {
    // Never closed: the agent's exit closes it, which is what the child waits for.
    [[maybe_unused]] const int held_until_exit = agent_holds.release();
    return;
  }
  agent_holds.reset();
  ::prctl(PR_SET_NAME, "profilis-detach");  // what `ps` shows for the few seconds it lives on
  close_all_but_probes(agent_alive.get());
  // EOF once the agent has exited: only then are these the last references to the probes, which
  // the kernel detaches as this process exits.
  char byte;
  for (;;) {
    const ssize_t n = ::read(agent_alive.get(), &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  ::_exit(0);
}

}  // namespace profilis
