#include "agent/pipeline/event_loop.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "agent/common/errors.h"

namespace profilis {
namespace {

// epoll tags: small numbers for the fixed fds, kPidBase + index for each target's pidfd.
constexpr std::uint64_t kRing = 1, kSignal = 2, kTimer = 3, kRoom = 4, kNotices = 5, kPidBase = 100;

unique_fd open_pidfd(pid_t pid) {
  return unique_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

}  // namespace

sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

EventLoop::EventLoop(int ring_epoll_fd, int room_fd, const std::vector<pid_t>& pids,
                     std::optional<std::chrono::milliseconds> duration)
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), ring_epoll_fd_(ring_epoll_fd), room_fd_(room_fd) {
  if (!epoll_) throw RuntimeError(errno_message("epoll_create1", errno));
  watch(ring_epoll_fd, kRing);
  watch(room_fd, kRoom);

  const sigset_t stop_signals = block_stop_signals();
  signal_fd_.reset(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) throw RuntimeError(errno_message("signalfd", errno));
  watch(signal_fd_.get(), kSignal);

  for (pid_t pid : pids) {
    unique_fd fd = open_pidfd(pid);
    if (!fd) {
      if (errno == ESRCH) continue;  // already gone: counts as exited
      throw RuntimeError(errno_message("pidfd_open(" + std::to_string(pid) + ")", errno));
    }
    watch(fd.get(), kPidBase + pid_fds_.size());
    pid_fds_.push_back(std::move(fd));
    watched_pids_.push_back(pid);
  }
  live_ = pid_fds_.size();

  if (duration) {
    timer_fd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timer_fd_) throw RuntimeError(errno_message("timerfd_create", errno));
    itimerspec spec{};
    spec.it_value.tv_sec = duration->count() / 1000;
    spec.it_value.tv_nsec = (duration->count() % 1000) * 1'000'000;
    ::timerfd_settime(timer_fd_.get(), 0, &spec, nullptr);
    watch(timer_fd_.get(), kTimer);
  }
}

void EventLoop::watch(int fd, std::uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw RuntimeError(errno_message("epoll_ctl", errno));
  }
}

void EventLoop::watch_process_notices(int fd) { watch(fd, kNotices); }

void EventLoop::pause_records(bool paused) {
  if (paused == paused_) return;
  epoll_event ev{};
  ev.events = paused ? 0u : static_cast<std::uint32_t>(EPOLLIN);
  ev.data.u64 = kRing;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, ring_epoll_fd_, &ev) != 0) {
    throw RuntimeError(errno_message("epoll_ctl", errno));
  }
  paused_ = paused;
}

EventLoop::Wake EventLoop::wait() {
  if (live_ == 0 && !keep_going_) return Wake::kTargetExited;
  epoll_event ev{};
  // The BPF programs wake the reader only once a backlog builds up (a wakeup per record costs an
  // interrupt per probe hit), so records are also drained on this interval.
  constexpr int kDrainIntervalMs = 50;
  int n = ::epoll_wait(epoll_.get(), &ev, 1, kDrainIntervalMs);
  if (n < 0) {
    if (errno == EINTR) return Wake::kNothing;
    throw RuntimeError(errno_message("epoll_wait", errno));
  }
  if (n == 0) return Wake::kRecords;
  switch (ev.data.u64) {
    case kRing:
      return Wake::kRecords;
    case kRoom: {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t n = ::read(room_fd_, &count, sizeof count);  // clears it
      return Wake::kRecords;
    }
    case kSignal:
      return Wake::kStop;
    case kNotices:
      return Wake::kProcessNotices;
    case kTimer:
      return Wake::kDeadline;
    default: {
      // An exited process's pidfd stays readable: stop watching it, once.
      const std::size_t index = ev.data.u64 - kPidBase;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pid_fds_[index].get(), nullptr);
      --live_;
      exited_ = watched_pids_[index];
      return live_ == 0 && !keep_going_ ? Wake::kTargetExited : Wake::kOneTargetExited;
    }
  }
}

}  // namespace profilis
