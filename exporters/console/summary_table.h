// The table --summary prints: per function, request and query shape, what a person at a terminal
// asks first — how often, how long in total, the percentiles, the worst, the errors — and, for the
// top entries, the latency distribution as BCC's funclatency draws it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "exporters/common/event.h"

namespace profilis {

// Durations in log-linear buckets (8 per power of two: within 12.5 %), for percentiles of any
// number of calls in fixed memory.
class LatencyHistogram {
 public:
  static constexpr std::size_t kSubBuckets = 8;
  static constexpr std::size_t kBuckets = 64 * kSubBuckets;

  void add(std::uint64_t ns);
  // The upper bound of the bucket holding the q-quantile (0 < q ≤ 1); 0 when empty.
  std::uint64_t quantile(double q) const;
  std::uint64_t count() const { return count_; }
  // Calls per power of two of microseconds: [0] below 1 µs, [k] in [2^(k-1), 2^k) µs.
  std::array<std::uint64_t, 40> power_of_two_us() const;

 private:
  static std::size_t index(std::uint64_t ns);
  static std::uint64_t upper_bound(std::size_t index);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
};

struct SummaryEntry {
  std::uint64_t count = 0;
  std::uint64_t total_ns = 0;
  std::uint64_t max_ns = 0;
  std::uint64_t errors = 0;  // FN/DB error, REQ status ≥ 500
  LatencyHistogram latency;
};

struct RenderOptions {
  std::size_t width = 100;     // columns; long keys are cut to fit
  bool color = false;          // ANSI bold headings (a terminal)
  std::size_t top = 10;        // rows per kind
  std::size_t histograms = 3;  // top entries drawn as distributions
};

class SummaryTable {
 public:
  // Keyed by kind and name: FN the function, REQ "METHOD route", DB the query as the event
  // carries it (normalized by default, so one shape is one key) or its vendor when it has none.
  void add(const Event& event);
  bool empty() const { return entries_.empty(); }
  // Top entries by total time, per kind (functions, requests, queries), then the histograms.
  std::string render(const RenderOptions& options, const std::string& title) const;

 private:
  std::map<std::tuple<EventKind, std::string>, SummaryEntry> entries_;
};

}  // namespace profilis
