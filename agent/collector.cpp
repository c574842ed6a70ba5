#include "agent/collector.h"

#include <cstdio>

#include "agent/batch_schedule.h"

namespace profilis {

Collector::Collector(CollectorOptions options, std::vector<std::unique_ptr<Sink>> sinks)
    : options_(options),
      sinks_(std::move(sinks)),
      sink_errors_(std::make_unique<std::atomic<std::uint64_t>[]>(sinks_.size())) {
  if (options_.queue_size == 0) options_.queue_size = 1;
  if (options_.batch_max == 0) options_.batch_max = 1;
  ring_.resize(options_.queue_size);
}

Collector::~Collector() { stop(); }

void Collector::start() {
  thread_ = std::thread([this] { run(); });
}

void Collector::push(Event& event) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (count_ == ring_.size()) {
      head_ = (head_ + 1) % ring_.size();
      --count_;
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    // A swap, not a move: the caller gets back an old event whose strings keep their capacity, so
    // in the steady state nothing is allocated here nor freed on the sink thread.
    std::swap(ring_[(head_ + count_) % ring_.size()], event);
    ++count_;
    wake = count_ == options_.batch_max;
  }
  if (wake) wake_.notify_one();
}

void Collector::push(Event&& event) {
  Event owned = std::move(event);
  push(owned);
}

std::size_t Collector::depth() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::string_view Collector::sink_name(std::size_t index) const {
  return index < sinks_.size() ? sinks_[index]->name() : std::string_view();
}

std::uint64_t Collector::sink_errors(std::size_t index) const {
  return index < sinks_.size() ? sink_errors_[index].load(std::memory_order_relaxed) : 0;
}

void Collector::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  // Never started: drain and finalize right here, so the sinks are finalized either way.
  if (thread_.joinable()) {
    thread_.join();
  } else {
    run();
  }
}

void Collector::run() {
  BatchSchedule schedule(options_.batch_max, options_.flush_interval, BatchSchedule::Clock::now());
  std::vector<Event> batch(schedule.batch_max());
  for (bool last = false; !last;) {
    bool elapsed = false;
    std::size_t n = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, schedule.deadline(),
                       [&] { return stopping_ || count_ >= schedule.batch_max(); });
      const auto now = BatchSchedule::Clock::now();
      n = schedule.due(count_, now, stopping_);
      for (std::size_t i = 0; i < n; ++i) {
        std::swap(batch[i], ring_[head_]);  // the delivered events return to the ring for reuse
        head_ = (head_ + 1) % ring_.size();
      }
      count_ -= n;
      last = stopping_ && count_ == 0;
      elapsed = schedule.interval_elapsed(now);
      if (elapsed) schedule.restart(now);
    }
    if (n > 0) deliver(std::span<const Event>(batch.data(), n));
    if (elapsed) tick_sinks();
  }
  finalize_sinks();
}

void Collector::tick_sinks() {
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    try {
      sinks_[i]->tick();
    } catch (const std::exception& e) {
      count_sink_error(i, "tick", e);
    }
  }
}

void Collector::deliver(std::span<const Event> batch) {
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    try {
      sinks_[i]->write(batch);
    } catch (const std::exception& e) {
      count_sink_error(i, "write", e);
    }
  }
  delivered_.fetch_add(batch.size(), std::memory_order_relaxed);
}

void Collector::finalize_sinks() {
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    try {
      sinks_[i]->finalize();
    } catch (const std::exception& e) {
      count_sink_error(i, "finalize", e);
    }
  }
}

void Collector::count_sink_error(std::size_t index, const char* what, const std::exception& e) {
  // Only the first failure of a sink is logged: a sink failing on every batch must not flood
  // stderr.
  if (sink_errors_[index].fetch_add(1, std::memory_order_relaxed) == 0) {
    std::fprintf(stderr, "profilis-agent: %s sink %s failed: %s\n",
                 std::string(sinks_[index]->name()).c_str(), what, e.what());
  }
}

}  // namespace profilis
