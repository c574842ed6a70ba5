#include "agent/collector.h"

#include <cstdio>

namespace profilis {

Collector::Collector(CollectorOptions options, std::vector<std::unique_ptr<Sink>> sinks)
    : options_(options),
      sinks_(std::move(sinks)),
      sink_errors_(std::make_unique<std::atomic<std::uint64_t>[]>(sinks_.size())) {
  if (options_.queue_size == 0) options_.queue_size = 1;
  if (options_.batch_max == 0) options_.batch_max = 1;
}

Collector::~Collector() { stop(); }

void Collector::start() {
  thread_ = std::thread([this] { run(); });
}

void Collector::push(Event event) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_size) {
      queue_.pop_front();
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    queue_.push_back(std::move(event));
    wake = queue_.size() >= options_.batch_max;
  }
  if (wake) wake_.notify_one();
}

std::size_t Collector::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
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
  std::vector<Event> batch;
  batch.reserve(options_.batch_max);
  for (;;) {
    bool last = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.flush_interval,
                     [&] { return stopping_ || queue_.size() >= options_.batch_max; });
      const std::size_t n = std::min(queue_.size(), options_.batch_max);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      last = stopping_ && queue_.empty();
    }
    if (!batch.empty()) deliver(batch);
    batch.clear();
    if (last) break;
  }
  finalize_sinks();
}

void Collector::deliver(const std::vector<Event>& batch) {
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
