// Between the ring-buffer reader and the sinks. Every sink has its own bounded queue and thread
// (SinkWorker). The reader offers each event to all of them at once; while a sink that keeps up
// has a full queue the offer is refused, and the reader leaves the following records in the
// kernel's ring buffer (backpressure) until room_fd() says a queue made room. Nothing is dropped
// here while the sinks make progress. A sink that takes nothing for sink_timeout while its queue
// is full is left behind, when there are others: its copies are dropped and counted for it alone,
// and the others go on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "agent/pipeline/sink_worker.h"
#include "exporters/common/event.h"
#include "exporters/common/sink.h"

namespace profilis {

class Collector {
 public:
  using Clock = SinkWorker::Clock;

  // `now` is read only when a queue is full (tests pass a controllable clock).
  Collector(CollectorOptions options, std::vector<std::unique_ptr<Sink>> sinks,
            std::function<Clock::time_point()> now = Clock::now);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  void start();
  // Hands the event to every sink's queue — taking its contents and leaving in `event` a recycled
  // one to overwrite — or to none: false when a sink that keeps up has a full queue. The caller
  // then keeps the event and offers it again once room_fd() is readable, or a little later (a
  // sink stuck past sink_timeout is left behind at a later offer).
  bool offer(Event& event);
  // From now on even a lone sink that is stuck is left behind: the agent is stopping, and waiting
  // for it would only leave the last records in the ring buffer, uncounted.
  void leave_stuck_sinks_behind() { lone_sink_may_be_left_ = true; }
  // An eventfd, readable once a queue that refused an offer has room; read it to clear.
  int room_fd() const;
  // Delivers everything queued, finalizes the sinks and ends their threads. A sink that makes no
  // progress for sink_timeout meanwhile (stuck in a write) is given up on: what it still held is
  // counted as its drops, and its thread is left blocked where it is.
  void stop();

  // Events taken by offer() (each one given to every sink, or counted as that sink's drop).
  std::uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  std::size_t sink_count() const { return workers_.size(); }
  std::string_view sink_name(std::size_t index) const { return workers_[index]->name(); }
  // Per sink (in the order given): events it got, events it alone lost, failed calls.
  std::uint64_t delivered(std::size_t index) const { return workers_[index]->delivered(); }
  std::uint64_t dropped(std::size_t index) const { return workers_[index]->dropped(); }
  std::uint64_t sink_errors(std::size_t index) const { return workers_[index]->errors(); }
  // The deepest sink queue.
  std::size_t depth() const;

 private:
  struct RoomSignal;

  std::vector<std::shared_ptr<SinkWorker>> workers_;
  std::function<Clock::time_point()> now_;
  std::shared_ptr<RoomSignal> room_;
  bool stopped_ = false;
  bool lone_sink_may_be_left_ = false;
  std::atomic<std::uint64_t> accepted_{0};
};

}  // namespace profilis
