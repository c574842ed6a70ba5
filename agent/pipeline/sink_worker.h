// One sink, its own bounded queue and the thread that feeds it in batches (see BatchSchedule). The
// reader fills the queue; this thread empties it into the sink. What a sink alone loses — events
// left behind while it was stuck, a batch whose write threw, what the sink itself could not write
// — is counted here, for that sink only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "exporters/common/event.h"
#include "exporters/common/sink.h"

namespace profilis {

struct CollectorOptions {
  std::size_t queue_size = 8192;  // per sink
  std::size_t batch_max = 256;
  std::chrono::milliseconds flush_interval{500};
  // A sink whose queue stays full this long without taking an event is left behind: its copies
  // are dropped (and counted) until it takes events again, so it cannot hold up the others.
  std::chrono::milliseconds sink_timeout{1000};
};

class SinkWorker {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_room` is called from the worker's thread when it takes events from a queue the reader
  // found full (after wait_for_room).
  SinkWorker(std::unique_ptr<Sink> sink, const CollectorOptions& options,
             std::function<void()> on_room);
  ~SinkWorker();
  SinkWorker(const SinkWorker&) = delete;
  SinkWorker& operator=(const SinkWorker&) = delete;

  void start();

  // Reader side. Only the reader adds events, so a queue found not full stays so until it pushes.
  bool full() const { return count_.load(std::memory_order_acquire) >= ring_.size(); }
  // After full(): true when the queue has room after all, or — when `may_leave_behind` — the sink
  // has taken nothing for sink_timeout since the reader first found it full (stuck: push_or_drop
  // drops). Otherwise false, and on_room is called when the worker next takes events.
  bool passable(Clock::time_point now, bool may_leave_behind = true);
  // Queues the event — a copy, or its contents when `take` (leaving a recycled Event in its
  // place) — or, when the queue is full, drops it and counts the drop.
  void push_or_drop(Event& event, bool take);

  // Asks the thread to deliver what is queued, finalize the sink and end.
  void request_stop();
  // Waits until the thread has ended, as long as the sink keeps taking events; false when it made
  // no progress for sink_timeout (stuck in a write): its queued events are then counted as dropped.
  bool join_while_progressing();
  // For a worker given up on: its thread is left to itself, never joined.
  void abandon();

  std::string_view name() const { return sink_->name(); }
  std::uint64_t delivered() const;
  std::uint64_t dropped() const;
  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  std::size_t depth() const { return count_.load(std::memory_order_relaxed); }

 private:
  void run();
  void deliver(std::size_t n);
  void tick();
  void count_error(const char* what, const std::exception& e);
  void mark_progress() {
    progress_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }

  std::unique_ptr<Sink> sink_;
  CollectorOptions options_;
  std::function<void()> on_room_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable ended_;
  std::vector<Event> ring_;  // the queue is count_ slots from head_
  std::size_t head_ = 0;
  std::atomic<std::size_t> count_{0};
  bool stopping_ = false;
  bool ended_flag_ = false;
  std::optional<Clock::time_point> full_since_;  // set by the reader, cleared when events are taken
  bool room_wanted_ = false;
  bool stuck_reported_ = false;  // reset when events are taken
  bool started_ = false;
  std::thread thread_;

  std::vector<Event> batch_;   // the sink thread's: events being written
  std::size_t in_flight_ = 0;  // batch_ events handed to the sink, not yet counted
  std::atomic<Clock::rep> progress_ns_{0};
  std::atomic<std::uint64_t> handed_{0};       // events the sink's write() accepted
  std::atomic<std::uint64_t> left_behind_{0};  // dropped while stuck, or queued when given up
  std::atomic<std::uint64_t> failed_{0};       // in batches whose write() threw
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace profilis
