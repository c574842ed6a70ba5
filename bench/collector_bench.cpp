// Collector throughput: events pushed by one thread (the ring-buffer reader's role) and delivered
// to a sink by the collector's thread. Target: at least 2 million events/s.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "agent/collector.h"
#include "bench/typical_event.h"

namespace {

using namespace std::chrono_literals;

class CountingSink : public profilis::Sink {
 public:
  explicit CountingSink(std::atomic<std::uint64_t>& delivered) : delivered_(delivered) {}
  std::string_view name() const override { return "counting"; }
  void write(std::span<const profilis::Event> batch) override {
    delivered_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
  void finalize() override {}

 private:
  std::atomic<std::uint64_t>& delivered_;
};

// Each iteration fills and pushes one event the way the ring reader does, and the timing ends only
// when the sink has received every event: enqueue → sink, end to end.
void BM_CollectorEnqueueToSink(benchmark::State& state) {
  std::atomic<std::uint64_t> delivered{0};
  std::vector<std::unique_ptr<profilis::Sink>> sinks;
  sinks.push_back(std::make_unique<CountingSink>(delivered));
  profilis::Collector collector(
      profilis::CollectorOptions{.queue_size = 1 << 16, .batch_max = 256, .flush_interval = 5ms},
      std::move(sinks));
  collector.start();
  const auto prototype = profilis::bench::typical_fn_event();
  profilis::Event event;
  std::uint64_t pushed = 0;
  for (auto _ : state) {
    // Filled the way the decoder fills its one reused event.
    event.kind = prototype.kind;
    event.ts_ns = prototype.ts_ns + pushed;
    event.dur_ns = prototype.dur_ns;
    event.pid = prototype.pid;
    event.tid = prototype.tid;
    event.comm.assign(prototype.comm);
    event.service.assign(prototype.service);
    event.fn.assign(prototype.fn);
    collector.push(event);
    ++pushed;
  }
  collector.stop();
  state.SetItemsProcessed(static_cast<int64_t>(pushed));
  state.counters["dropped"] = static_cast<double>(collector.dropped());
  state.counters["delivered"] = static_cast<double>(delivered.load());
}
BENCHMARK(BM_CollectorEnqueueToSink)->UseRealTime()->MinTime(1.0);

}  // namespace
