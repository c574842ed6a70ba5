// The agent's one wait: the ring buffer, the collector's room signal, stop signals, target exits
// and the --duration timer, all as file descriptors in one epoll set. The ring buffer is also
// drained every 50 ms, because the BPF programs submit without a wakeup until a backlog builds up.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <vector>

#include "agent/common/unique_fd.h"

namespace profilis {

// Blocks SIGINT and SIGTERM for the calling thread and the threads it starts later, so that they
// wait for the event loop's signalfd; returns that set. The agent calls it before its first thread
// too (blocking twice is harmless).
sigset_t block_stop_signals();

class EventLoop {
 public:
  enum class Wake {
    kRecords,
    kProcessNotices,
    kStop,
    kOneTargetExited,
    kTargetExited,
    kDeadline,
    kNothing
  };

  // Blocks SIGINT and SIGTERM for the calling thread and the threads it starts later, and receives
  // them through a signalfd instead: no signal handler, no global flag.
  // `room_fd`: an eventfd that says the collector has room again after refusing an event.
  EventLoop(int ring_epoll_fd, int room_fd, const std::vector<pid_t>& pids,
            std::optional<std::chrono::milliseconds> duration);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // kRecords also when the drain interval passed, or the collector has room.
  Wake wait();
  // While the collector refuses events, the ring buffer's readiness is not watched (it would stay
  // readable): the reader drains again on the room signal or the drain interval.
  void pause_records(bool paused);
  // Also wakes (kProcessNotices) when `fd` is readable: the kernel's notices of new processes.
  void watch_process_notices(int fd);
  // Under --node/--binary the agent goes on when every --pid target has exited.
  void keep_going_without_targets() { keep_going_ = true; }
  // The target whose exit the last kOneTargetExited or kTargetExited reported.
  pid_t exited() const { return exited_; }

 private:
  void watch(int fd, std::uint64_t tag);

  unique_fd epoll_;
  unique_fd signal_fd_;
  unique_fd timer_fd_;
  int ring_epoll_fd_ = -1;  // the ring reader's
  int room_fd_ = -1;        // the collector's
  bool paused_ = false;
  std::vector<unique_fd> pid_fds_;
  std::vector<pid_t> watched_pids_;  // same order as pid_fds_
  pid_t exited_ = 0;
  std::size_t live_ = 0;
  bool keep_going_ = false;
};

}  // namespace profilis
