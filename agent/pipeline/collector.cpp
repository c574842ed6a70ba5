#include "agent/pipeline/collector.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

#include "agent/common/errors.h"
#include "agent/common/unique_fd.h"

namespace profilis {
namespace {

// Workers given up on while blocked in a sink: never destroyed, since their threads may still
// wake and use them; reachable from here, so leak checkers see them as kept on purpose.
std::vector<std::shared_ptr<SinkWorker>>& abandoned_workers() {
  static auto* workers = new std::vector<std::shared_ptr<SinkWorker>>();
  return *workers;
}

}  // namespace

// The eventfd outlives the collector while an abandoned worker may still signal it.
struct Collector::RoomSignal {
  RoomSignal() : fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!fd) throw RuntimeError(errno_message("eventfd", errno));
  }
  void signal() const {
    const std::uint64_t one = 1;
    // A full counter stays readable.
    [[maybe_unused]] ssize_t n = ::write(fd.get(), &one, sizeof one);
  }
  unique_fd fd;
};

Collector::Collector(CollectorOptions options, std::vector<std::unique_ptr<Sink>> sinks,
                     std::function<Clock::time_point()> now)
    : now_(std::move(now)), room_(std::make_shared<RoomSignal>()) {
  for (auto& sink : sinks) {
    workers_.push_back(
        std::make_shared<SinkWorker>(std::move(sink), options, [room = room_] { room->signal(); }));
  }
}

Collector::~Collector() { stop(); }

int Collector::room_fd() const { return room_->fd.get(); }

void Collector::start() {
  for (auto& worker : workers_) worker->start();
}

bool Collector::offer(Event& event) {
  // Only this thread adds events, so a queue seen with room keeps it until the pushes below. Every
  // full queue is asked, so that the waits of two stuck sinks run at the same time. A lone sink is
  // never left behind: there is no other to keep going, and the ring buffer bounds the wait.
  const bool may_leave_behind = workers_.size() > 1 || lone_sink_may_be_left_;
  bool refused = false;
  for (auto& worker : workers_) {
    if (worker->full() && !worker->passable(now_(), may_leave_behind)) refused = true;
  }
  if (refused) return false;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->push_or_drop(event, i + 1 == workers_.size());
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Collector::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& worker : workers_) worker->request_stop();
  for (auto& worker : workers_) {
    if (worker->join_while_progressing()) continue;
    std::fprintf(stderr,
                 "profilis-agent: the %s sink is stuck: not waiting for it, its queued events are "
                 "counted as dropped\n",
                 std::string(worker->name()).c_str());
    worker->abandon();
    abandoned_workers().push_back(worker);
  }
}

std::size_t Collector::depth() const {
  std::size_t deepest = 0;
  for (const auto& worker : workers_) deepest = std::max(deepest, worker->depth());
  return deepest;
}

}  // namespace profilis
