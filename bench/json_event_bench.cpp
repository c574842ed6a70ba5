// JSON encoding of typical events: the cost every JSONL and console line pays.
#include <benchmark/benchmark.h>

#include "exporters/json_event.h"

namespace {

profilis::Event typical_fn_event() {
  profilis::Event e;
  e.kind = profilis::EventKind::kFn;
  e.ts_ns = 1764031200123456789ull;
  e.dur_ns = 812345;
  e.pid = 4242;
  e.tid = 4243;
  e.comm = "api-worker";
  e.service = "api";
  e.fn = "myapp::handlers::UserController::show(int)";
  return e;
}

void BM_EncodeTypicalFnEvent(benchmark::State& state) {
  const auto event = typical_fn_event();
  std::string out;
  for (auto _ : state) {
    out.clear();
    profilis::append_json_event(out, event);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodeTypicalFnEvent);

void BM_EncodeHostileString(benchmark::State& state) {
  std::string hostile;
  for (int i = 0; i < 256; ++i) hostile += static_cast<char>(i);
  std::string out;
  for (auto _ : state) {
    out.clear();
    profilis::append_json_string(out, hostile);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * hostile.size()));
}
BENCHMARK(BM_EncodeHostileString);

}  // namespace
