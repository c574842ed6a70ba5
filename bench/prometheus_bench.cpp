// Prometheus exporter costs: observing (target >= 10 M/s on one core), the sink's per-event path,
// and rendering 10 000 series (target < 20 ms).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/typical_event.h"
#include "exporters/prometheus/prometheus_sink.h"
#include "exporters/prometheus/prometheus_text.h"

namespace {

using profilis::Registry;

void BM_HistogramObserveExistingSeries(benchmark::State& state) {
  Registry registry;
  profilis::Histogram& h = registry.add_histogram("h_seconds", "help", {"fn"}).labels({"f"});
  double value = 0;
  for (auto _ : state) {
    h.observe(value);
    value = value < 12 ? value + 0.013 : 0;  // walk every bucket
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserveExistingSeries);

void BM_CounterIncExistingSeries(benchmark::State& state) {
  Registry registry;
  profilis::Counter& c = registry.add_counter("c_total", "help", {"fn"}).labels({"f"});
  for (auto _ : state) c.inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncExistingSeries);

// Label lookup of an existing series, then observe: what the sink pays per family.
void BM_HistogramLookupAndObserve(benchmark::State& state) {
  Registry registry;
  auto& family =
      registry.add_histogram("h_seconds", "help", {"service", "instance", "worker", "fn"});
  for (auto _ : state) family.labels({"api", "host-1", "4242", "handle(int)"}).observe(0.007);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramLookupAndObserve);

// The typical event, spread over 50 functions.
profilis::Event typical_fn_event(int i) {
  profilis::Event e = profilis::bench::typical_fn_event();
  e.dur_ns += static_cast<std::uint64_t>(i);
  e.fn += "#" + std::to_string(i % 50);
  return e;
}

// A collector batch of typical FN events over 50 functions.
void BM_SinkFnEvents(benchmark::State& state) {
  Registry registry;
  profilis::PrometheusSink sink(registry, {.instance = "host-1", .worker = ""});
  std::vector<profilis::Event> batch;
  for (int i = 0; i < 256; ++i) batch.push_back(typical_fn_event(i));
  for (auto _ : state) sink.write(batch);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}
BENCHMARK(BM_SinkFnEvents);

std::string fn_name(int i) {
  return "myapp::module" + std::to_string(i % 97) + "::fn" + std::to_string(i);
}

// collect + serialize, as one GET /metrics does.
void render(benchmark::State& state, const Registry& registry) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = profilis::render_text(registry);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["series"] = static_cast<double>(state.range(0));
}

void BM_Render10kCounterSeries(benchmark::State& state) {
  Registry registry;
  auto& family = registry.add_counter("profilis_function_calls_total", "help",
                                      {"service", "instance", "worker", "function"});
  for (int i = 0; i < state.range(0); ++i)
    family.labels({"api", "host-1", "4242", fn_name(i)}).inc(i);
  render(state, registry);
}
BENCHMARK(BM_Render10kCounterSeries)->Arg(10000)->Unit(benchmark::kMillisecond);

// The heavy case: every series a histogram, 14 lines each.
void BM_Render10kHistogramSeries(benchmark::State& state) {
  Registry registry;
  auto& family = registry.add_histogram("profilis_function_duration_seconds", "help",
                                        {"service", "instance", "worker", "function"});
  for (int i = 0; i < state.range(0); ++i) {
    family.labels({"api", "host-1", "4242", fn_name(i)}).observe(i * 0.001);
  }
  render(state, registry);
}
BENCHMARK(BM_Render10kHistogramSeries)->Arg(10000)->Unit(benchmark::kMillisecond);

// What the agent serves: 5 000 functions, each a counter and a histogram series.
void BM_RenderSinkFamilies10kSeries(benchmark::State& state) {
  Registry registry;
  profilis::PrometheusSink sink(registry, {.instance = "host-1", .worker = "w1"});
  std::vector<profilis::Event> events;
  for (int i = 0; i < state.range(0) / 2; ++i) {
    events.push_back(typical_fn_event(0));
    events.back().fn = fn_name(i);
  }
  sink.write(events);
  render(state, registry);
}
BENCHMARK(BM_RenderSinkFamilies10kSeries)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
