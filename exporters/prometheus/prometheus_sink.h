// Events into the metric families of docs/design.md §6, with the profilis names and labels:
//   REQ -> profilis_http_requests_total, profilis_http_request_duration_seconds
//          {service, instance, worker, route, status}
//   FN  -> profilis_function_calls_total, profilis_function_duration_seconds
//          {service, instance, worker, function}
//   DB  -> profilis_db_queries_total, profilis_db_query_duration_seconds
//          {service, instance, worker, db_vendor}
// and after those, the labels --metric-labels asks for (metric_labels.h), in its order; plus
// profilis_build_info{version} 1 and profilis_series_overflow_total{family}. The metrics live
// in a prometheus-cpp registry; the health families belong to the agent (agent/app/health_metrics).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exporters/common/sink.h"
#include "exporters/prometheus/metric_labels.h"

namespace prometheus {
class Counter;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace profilis {

// Upper bounds in seconds of every duration histogram (docs/design.md §6); +Inf is implicit.
inline constexpr std::array<double, 11> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2,     5,    10};

// The FN families, which --aggregate's kernel-side series join (agent/app/aggregate_metrics.h).
inline constexpr std::string_view kFunctionCallsFamily = "profilis_function_calls_total";
inline constexpr std::string_view kFunctionDurationsFamily = "profilis_function_duration_seconds";

// prometheus-cpp has no limit on series; a traced program with a label per request id would
// otherwise grow the agent's memory and every scrape without bound.
inline constexpr std::size_t kMaxSeriesPerFamily = 10000;
// The value every label of a series takes once its family is full.
inline constexpr std::string_view kOverflowLabelValue = "__other__";

struct PrometheusSinkOptions {
  std::string instance = {};
  std::string worker = {};  // empty: each event's pid
  std::string version = "unknown";
  std::size_t max_series_per_family = kMaxSeriesPerFamily;  // smaller in tests
  std::vector<MetricLabel> metric_labels = {};              // --metric-labels, no repeats
};

class PrometheusSink : public Sink {
 public:
  // Registers every family now. `registry` must outlive the sink.
  PrometheusSink(prometheus::Registry& registry, PrometheusSinkOptions options);
  ~PrometheusSink() override;
  PrometheusSink(const PrometheusSink&) = delete;
  PrometheusSink& operator=(const PrometheusSink&) = delete;

  std::string_view name() const override { return "prometheus"; }
  void write(std::span<const Event> batch) override;
  void finalize() override {}

 private:
  // One kind of event: a calls counter and a duration histogram with the same label names. The
  // series of each label set are found by a key of the label values that vary between events, so
  // the hot path builds no prometheus::Labels map: a hash lookup, then Increment and Observe.
  class Kind {
   public:
    Kind(prometheus::Registry& registry, const PrometheusSinkOptions& options,
         std::string_view calls_name, std::string_view calls_help, std::string_view durations_name,
         std::string_view durations_help, std::vector<std::string> varying_labels);

    // `values`: service, worker, then the kind's own labels, in the order of `varying_labels`;
    // the --metric-labels values are taken from `event`.
    void observe(std::initializer_list<std::string_view> values, const Event& event);

   private:
    struct Series {
      prometheus::Counter* calls;
      prometheus::Histogram* durations;
    };
    struct KeyHash {
      using is_transparent = void;
      std::size_t operator()(std::string_view key) const {
        return std::hash<std::string_view>{}(key);
      }
    };

    Series create(std::initializer_list<std::string_view> values, const Event& event);
    Series other();

    const std::string instance_;
    const std::size_t max_series_;
    const std::vector<std::string> varying_labels_;  // after "service" and "worker"
    const std::vector<MetricLabel> metric_labels_;   // after those
    prometheus::Family<prometheus::Counter>& calls_;
    prometheus::Family<prometheus::Histogram>& durations_;
    prometheus::Counter& calls_overflow_;
    prometheus::Counter& durations_overflow_;
    std::unordered_map<std::string, Series, KeyHash, std::equal_to<>> series_;
    Series other_{nullptr, nullptr};  // the all-__other__ series, once a fold needed it
    std::string key_;                 // reused, so a hit allocates nothing
  };

  void observe(const Event& event);

  PrometheusSinkOptions options_;
  Kind http_;
  Kind functions_;
  Kind db_;
};

}  // namespace profilis
