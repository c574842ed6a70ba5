// JSONL encode+write of typical events (issue 3: at least 1 million lines/s on one core), with the
// alternative we measured against: nlohmann::json, an object built per event and dumped.
//
// The *Write benchmarks write batches of 256 to files in a temporary directory on the real disk
// (/var/tmp, which unlike /tmp is not a tmpfs on many systems); the *Encode ones only encode, to
// tell the encoder's cost from the kernel's.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "exporters/common/event.h"
#include "exporters/common/json_event.h"
#include "exporters/jsonl/jsonl_sink.h"

namespace {

using profilis::Event;
using profilis::EventKind;

constexpr std::size_t kBatch = 256;  // the collector's default --batch-max
// For the nlohmann output file: truncated past this size to keep disk use bounded.
constexpr std::uint64_t kMaxFileBytes = 64'000'000;

// A fresh directory under /var/tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/var/tmp/profilis-jsonl-bench.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::system_error(errno, std::generic_category());
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// What a traced web service produces: mostly function and DB events, some requests; one in eight
// strings needs escaping.
std::vector<Event> typical_batch() {
  std::vector<Event> batch(kBatch);
  for (std::size_t i = 0; i < kBatch; ++i) {
    Event& e = batch[i];
    e.ts_ns = 1764031200123456789ull + i * 1'000'000;
    e.dur_ns = 812345 + i;
    e.pid = 4242;
    e.tid = 4243 + static_cast<std::uint32_t>(i % 8);
    e.comm = "api-worker";
    e.service = "api";
    switch (i % 4) {
      case 0:
        e.kind = EventKind::kReq;
        e.route = "/api/users/{id}";
        e.method = "GET";
        e.status = 200;
        break;
      case 1:
      case 2:
        e.kind = EventKind::kFn;
        e.fn = "myapp::handlers::UserController::show(int)";
        break;
      default:
        e.kind = EventKind::kDb;
        e.query = i % 8 == 3 ? "SELECT \"name\" FROM users WHERE id = ?"
                             : "SELECT * FROM users WHERE id = ? AND tenant = ?";
        e.db_vendor = "postgresql";
        break;
    }
  }
  return batch;
}

// The same object, field for field and in the same order, with nlohmann. ordered_json keeps the
// order of docs/design.md §3 (plain json would sort the keys); replacing invalid UTF-8 matches
// ours.
void append_nlohmann(std::string& out, const Event& e) {
  nlohmann::ordered_json j;
  j["ts_ns"] = e.ts_ns;
  j["kind"] = profilis::kind_name(e.kind);
  switch (e.kind) {
    case EventKind::kReq:
      j["route"] = e.route;
      j["method"] = e.method;
      j["status"] = e.status;
      break;
    case EventKind::kFn:
      j["fn"] = e.fn;
      j["error"] = e.error;
      break;
    case EventKind::kDb:
      j["query"] = e.query;
      j["db_vendor"] = e.db_vendor;
      j["rows"] = e.rows;
      j["error"] = e.error;
      break;
  }
  j["dur_ns"] = e.dur_ns;
  j["pid"] = e.pid;
  j["tid"] = e.tid;
  j["comm"] = e.comm;
  j["service"] = e.service;
  if (!e.container_id.empty()) j["container_id"] = e.container_id;
  out += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out += '\n';
}

void set_counters(benchmark::State& state, std::size_t bytes_per_batch) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes_per_batch));
}

std::size_t encoded_size(const std::vector<Event>& batch) {
  std::string out;
  for (const Event& e : batch) profilis::append_json_event(out, e);
  return out.size();
}

// Ours, as the agent runs it: the sink encodes and appends to its active file, rotating by size
// at the argument. At 1 GB a run hardly rotates; at the agent's default of 10 MB the fsync of each
// rotation shows in the real time (how much depends on the disk).
void BM_JsonlSinkWrite(benchmark::State& state) {
  const auto batch = typical_batch();
  TempDir dir;
  profilis::JsonlSink sink(profilis::JsonlOptions{
      .dir = dir.path(), .rotate_bytes = static_cast<std::uint64_t>(state.range(0))});
  for (auto _ : state) sink.write(batch);
  sink.finalize();  // after the timed loop: not measured
  if (sink.dropped_events() != 0) state.SkipWithError("the sink dropped events");
  state.counters["files"] = static_cast<double>(sink.finalized_files().size());
  set_counters(state, encoded_size(batch));
}
BENCHMARK(BM_JsonlSinkWrite)->Arg(1'000'000'000)->Arg(10'000'000)->UseRealTime();

// The alternative: nlohmann encoding, written the same way (one write(2) per batch, O_APPEND).
void BM_NlohmannWrite(benchmark::State& state) {
  const auto batch = typical_batch();
  TempDir dir;
  const auto path = dir.path() / "nlohmann.jsonl";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return state.SkipWithError("cannot open the output file");
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const Event& e : batch) append_nlohmann(out, e);
    if (::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
      state.SkipWithError("short write");
      break;
    }
    // Bounds disk use; unlike a rotation, no fsync.
    if (::lseek(fd, 0, SEEK_END) > static_cast<off_t>(kMaxFileBytes) && ::ftruncate(fd, 0) != 0) {
      state.SkipWithError("cannot truncate the output file");
      break;
    }
  }
  ::close(fd);
  set_counters(state, out.size());
}
BENCHMARK(BM_NlohmannWrite)->UseRealTime();

// Encoding alone.
void BM_OursEncode(benchmark::State& state) {
  const auto batch = typical_batch();
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const Event& e : batch) profilis::append_json_event(out, e);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, out.size());
}
BENCHMARK(BM_OursEncode);

void BM_NlohmannEncode(benchmark::State& state) {
  const auto batch = typical_batch();
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const Event& e : batch) append_nlohmann(out, e);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, out.size());
}
BENCHMARK(BM_NlohmannEncode);

// The worst case for the encoder: every byte value, so every escape and UTF-8 repair path runs.
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
