// When the collector hands a batch to the sinks: as soon as a full batch is queued, and otherwise
// once per flush interval. Pure logic over explicit times, so the tests drive it with a fake clock.
#pragma once

#include <chrono>
#include <cstddef>

namespace profilis {

class BatchSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  BatchSchedule(std::size_t batch_max, std::chrono::milliseconds interval, Clock::time_point start);

  // How many of `queued` events to deliver at `now` (0: keep waiting). Stopping delivers
  // everything, a batch at a time.
  std::size_t due(std::size_t queued, Clock::time_point now, bool stopping) const;
  // The interval's end: the sink thread wakes then even when nothing arrives, to flush what is
  // queued and to let the sinks do their timed work.
  Clock::time_point deadline() const { return last_ + interval_; }
  bool interval_elapsed(Clock::time_point now) const { return now >= deadline(); }
  // A new interval starts when the previous one elapsed (whether or not anything was delivered).
  void restart(Clock::time_point now) { last_ = now; }
  std::size_t batch_max() const { return batch_max_; }

 private:
  std::size_t batch_max_;
  std::chrono::milliseconds interval_;
  Clock::time_point last_;
};

}  // namespace profilis
