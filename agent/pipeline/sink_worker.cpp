#include "agent/pipeline/sink_worker.h"

#include <cstdio>
#include <string>
#include <utility>

#include "agent/pipeline/batch_schedule.h"

namespace profilis {

SinkWorker::SinkWorker(std::unique_ptr<Sink> sink, const CollectorOptions& options,
                       std::function<void()> on_room)
    : sink_(std::move(sink)), options_(options), on_room_(std::move(on_room)) {
  if (options_.queue_size == 0) options_.queue_size = 1;
  if (options_.batch_max == 0) options_.batch_max = 1;
  ring_.resize(options_.queue_size);
  batch_.resize(std::min(options_.batch_max, options_.queue_size));
  mark_progress();
}

SinkWorker::~SinkWorker() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

void SinkWorker::start() {
  started_ = true;
  thread_ = std::thread([this] {
    try {
      sink_->begin();
    } catch (const std::exception& e) {
      count_error("begin", e);
    }
    run();
  });
}

bool SinkWorker::passable(Clock::time_point now, bool may_leave_behind) {
  std::lock_guard lock(mutex_);
  // Emptied since full() said otherwise: room now.
  if (count_.load(std::memory_order_relaxed) < ring_.size()) return true;
  room_wanted_ = true;
  if (!full_since_) full_since_ = now;
  const bool stuck = may_leave_behind && now - *full_since_ >= options_.sink_timeout;
  if (stuck && !stuck_reported_) {
    stuck_reported_ = true;
    std::fprintf(stderr,
                 "profilis-agent: the %s sink took no event for %lld ms: its copies of new events "
                 "are dropped and counted until it takes events again\n",
                 std::string(sink_->name()).c_str(),
                 static_cast<long long>(options_.sink_timeout.count()));
  }
  return stuck;
}

void SinkWorker::push_or_drop(Event& event, bool take) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    const std::size_t count = count_.load(std::memory_order_relaxed);
    if (count >= ring_.size()) {
      left_behind_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Event& slot = ring_[(head_ + count) % ring_.size()];
    // A swap, not a move, and copies into a used slot: strings keep their capacity, so in the
    // steady state nothing is allocated here nor freed on the sink thread.
    if (take) {
      std::swap(slot, event);
    } else {
      slot = event;
    }
    count_.store(count + 1, std::memory_order_release);
    wake = count + 1 == batch_.size();
  }
  if (wake) wake_.notify_one();
}

void SinkWorker::request_stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    // The stop starts the clock for a sink that was idle or slow, not for one already stuck.
    if (!stuck_reported_) mark_progress();
  }
  wake_.notify_one();
}

bool SinkWorker::join_while_progressing() {
  if (!started_) {  // never started: deliver and finalize right here
    started_ = true;
    run();
    return true;
  }
  if (!thread_.joinable()) return true;
  std::unique_lock lock(mutex_);
  while (!ended_flag_) {
    ended_.wait_for(lock, std::chrono::milliseconds(20));
    const Clock::time_point progress{Clock::duration(progress_ns_.load(std::memory_order_relaxed))};
    if (!ended_flag_ && Clock::now() - progress >= options_.sink_timeout) return false;
  }
  lock.unlock();
  thread_.join();
  return true;
}

void SinkWorker::abandon() {
  std::lock_guard lock(mutex_);
  left_behind_.fetch_add(count_.load(std::memory_order_relaxed) + in_flight_,
                         std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  in_flight_ = 0;
  if (thread_.joinable()) thread_.detach();
}

std::uint64_t SinkWorker::delivered() const {
  const std::uint64_t own = sink_->dropped_events();
  const std::uint64_t handed = handed_.load(std::memory_order_relaxed);
  return handed > own ? handed - own : 0;
}

std::uint64_t SinkWorker::dropped() const {
  return left_behind_.load(std::memory_order_relaxed) + failed_.load(std::memory_order_relaxed) +
         sink_->dropped_events();
}

void SinkWorker::run() {
  BatchSchedule schedule(batch_.size(), options_.flush_interval, Clock::now());
  for (bool last = false; !last;) {
    bool elapsed = false;
    bool room = false;
    std::size_t n = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, schedule.deadline(), [&] {
        return stopping_ || count_.load(std::memory_order_relaxed) >= schedule.batch_max();
      });
      const auto now = Clock::now();
      const std::size_t count = count_.load(std::memory_order_relaxed);
      n = schedule.due(count, now, stopping_);
      for (std::size_t i = 0; i < n; ++i) {
        std::swap(batch_[i], ring_[head_]);  // the taken events return to the ring for reuse
        head_ = (head_ + 1) % ring_.size();
      }
      count_.store(count - n, std::memory_order_release);
      in_flight_ = n;
      if (n > 0) {
        full_since_.reset();
        stuck_reported_ = false;
        room = std::exchange(room_wanted_, false);
      }
      last = stopping_ && count == n;
      elapsed = schedule.interval_elapsed(now);
      if (elapsed) schedule.restart(now);
    }
    if (n > 0) mark_progress();
    if (room && on_room_) on_room_();
    if (n > 0) deliver(n);
    if (elapsed) tick();
  }
  mark_progress();
  try {
    sink_->finalize();
  } catch (const std::exception& e) {
    count_error("finalize", e);
  }
  {
    std::lock_guard lock(mutex_);
    ended_flag_ = true;
  }
  ended_.notify_all();
}

void SinkWorker::deliver(std::size_t n) {
  bool ok = true;
  try {
    sink_->write(std::span<const Event>(batch_.data(), n));
  } catch (const std::exception& e) {
    ok = false;
    count_error("write", e);
  }
  {
    std::lock_guard lock(mutex_);
    if (in_flight_ == 0) return;  // given up on meanwhile: already counted as left behind
    in_flight_ = 0;
    (ok ? handed_ : failed_).fetch_add(n, std::memory_order_relaxed);
  }
  mark_progress();
}

void SinkWorker::tick() {
  try {
    sink_->tick();
  } catch (const std::exception& e) {
    count_error("tick", e);
  }
}

void SinkWorker::count_error(const char* what, const std::exception& e) {
  // Only the first failure is logged: a sink failing on every batch must not flood stderr.
  if (errors_.fetch_add(1, std::memory_order_relaxed) == 0) {
    std::fprintf(stderr, "profilis-agent: %s sink %s failed: %s\n",
                 std::string(sink_->name()).c_str(), what, e.what());
  }
}

}  // namespace profilis
