// Between the ring-buffer reader and the sinks: a bounded queue drained by one sink thread in
// batches (see BatchSchedule). Pushing never blocks the reader for long; when the queue is full the
// oldest event is dropped and counted, so the newest data survives a slow sink. Each sink is
// isolated: one that throws is counted and retried with the next batch, the others go on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "exporters/event.h"
#include "exporters/sink.h"

namespace profilis {

struct CollectorOptions {
  std::size_t queue_size = 2048;
  std::size_t batch_max = 256;
  std::chrono::milliseconds flush_interval{500};
};

class Collector {
 public:
  Collector(CollectorOptions options, std::vector<std::unique_ptr<Sink>> sinks);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  void start();
  // Takes the event's contents and leaves in `event` a recycled one, to be overwritten by the
  // caller: the reader refills one Event again and again without allocating.
  void push(Event& event);
  void push(Event&& event);
  // Delivers everything still queued to every sink, finalizes the sinks and joins the thread.
  void stop();

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::size_t depth() const;
  // Failed write/finalize calls of the sink at `index` (in the order given to the constructor).
  std::uint64_t sink_errors(std::size_t index) const;
  std::size_t sink_count() const { return sinks_.size(); }
  std::string_view sink_name(std::size_t index) const;

 private:
  void run();
  void deliver(std::span<const Event> batch);
  void tick_sinks();
  void finalize_sinks();
  void count_sink_error(std::size_t index, const char* what, const std::exception& e);

  CollectorOptions options_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> sink_errors_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Event> ring_;  // queue_size slots; the queue is count_ of them from head_
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace profilis
