// Prometheus exporter costs on prometheus-cpp: observing (goal >= 10 M/s on the sink thread), the
// sink's per-event path (a cache lookup, then Increment and Observe), and rendering 10 000
// histogram series as a scrape does (goal < 200 ms), with and without gzip.
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "bench/typical_event.h"
#include "exporters/prometheus/prometheus_sink.h"

namespace {

const prometheus::Histogram::BucketBoundaries kBuckets(profilis::kDurationBuckets.begin(),
                                                       profilis::kDurationBuckets.end());

void BM_HistogramObserveExistingSeries(benchmark::State& state) {
  prometheus::Registry registry;
  auto& h = prometheus::BuildHistogram()
                .Name("h_seconds")
                .Help("help")
                .Register(registry)
                .Add({{"fn", "f"}}, kBuckets);
  double value = 0;
  for (auto _ : state) {
    h.Observe(value);
    value = value < 12 ? value + 0.013 : 0;  // walk every bucket
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserveExistingSeries);

void BM_CounterIncrementExistingSeries(benchmark::State& state) {
  prometheus::Registry registry;
  auto& c =
      prometheus::BuildCounter().Name("c_total").Help("help").Register(registry).Add({{"fn", "f"}});
  for (auto _ : state) c.Increment();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncrementExistingSeries);

// The typical event, spread over 50 functions.
profilis::Event typical_fn_event(int i) {
  profilis::Event e = profilis::bench::typical_fn_event();
  e.dur_ns += static_cast<std::uint64_t>(i);
  e.fn += "#" + std::to_string(i % 50);
  return e;
}

// A collector batch of typical FN events over 50 functions: what the sink thread does per event.
void BM_SinkFnEvents(benchmark::State& state) {
  prometheus::Registry registry;
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

std::size_t gzip_size(const std::string& text) {
  // As prometheus-cpp's handler compresses (default level, memLevel 9).
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::vector<unsigned char> out(deflateBound(&zs, text.size()));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  const std::size_t size = zs.total_out;
  deflateEnd(&zs);
  return size;
}

// Collect + serialize (+ gzip), as one GET /metrics does.
void render(benchmark::State& state, const prometheus::Registry& registry, bool gzip) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
    bytes = gzip ? gzip_size(text) : text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

// The heavy case: every series a histogram, 15 lines each.
void BM_Render10kHistogramSeries(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildHistogram()
                     .Name("profilis_function_duration_seconds")
                     .Help("help")
                     .Register(registry);
  for (int i = 0; i < 10000; ++i) {
    family
        .Add({{"service", "api"},
              {"instance", "host-1"},
              {"worker", "4242"},
              {"function", fn_name(i)}},
             kBuckets)
        .Observe(i * 0.001);
  }
  render(state, registry, state.range(0) != 0);
}
BENCHMARK(BM_Render10kHistogramSeries)
    ->ArgName("gzip")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

// What the agent serves for 5 000 functions: a counter and a histogram series each.
void BM_RenderSinkFamilies10kSeries(benchmark::State& state) {
  prometheus::Registry registry;
  profilis::PrometheusSink sink(registry, {.instance = "host-1", .worker = "w1"});
  std::vector<profilis::Event> events;
  for (int i = 0; i < 5000; ++i) {
    events.push_back(typical_fn_event(0));
    events.back().fn = fn_name(i);
  }
  sink.write(events);
  render(state, registry, state.range(0) != 0);
}
BENCHMARK(BM_RenderSinkFamilies10kSeries)
    ->ArgName("gzip")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
