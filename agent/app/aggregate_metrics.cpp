#include "agent/app/aggregate_metrics.h"

#include <limits>
#include <map>
#include <utility>

#include "agent/targets/targets.h"
#include "exporters/prometheus/prometheus_sink.h"

namespace profilis {

std::vector<NamedAggregate> named_aggregates(const std::vector<AggregateSeries>& fn_series,
                                             const std::vector<std::string>& names,
                                             const std::vector<PythonAggregateSeries>& python) {
  std::vector<NamedAggregate> named;
  std::map<std::pair<pid_t, std::string>, std::size_t> at;  // into `named`
  const auto add = [&](pid_t pid, const std::string& function, const profilis_aggregate& total) {
    if (total.count == 0 || function.empty()) return;
    auto [it, added] = at.try_emplace({pid, function}, named.size());
    if (added) named.push_back({.pid = pid, .function = function, .total = {}});
    add_aggregate(named[it->second].total, total);
  };
  for (const AggregateSeries& one : fn_series) {
    if (one.fn_id < names.size()) add(one.pid, names[one.fn_id], one.total);
  }
  for (const PythonAggregateSeries& one : python) add(one.pid, one.name, one.total);
  return named;
}

std::vector<NamedAggregate> read_aggregates(const BpfPrograms& program,
                                            const std::vector<std::string>& fn_names) {
  return named_aggregates(program.aggregates(), fn_names, program.python_aggregates());
}

std::vector<prometheus::MetricFamily> aggregate_families(
    const std::vector<NamedAggregate>& series, const AggregateLabels& labels,
    const std::function<std::string(pid_t)>& service_of) {
  static constexpr std::uint64_t kBoundsNs[] = PROFILIS_AGGREGATE_BOUNDS_NS;
  prometheus::MetricFamily calls{std::string(kFunctionCallsFamily),
                                 "Completed function calls.",
                                 prometheus::MetricType::Counter,
                                 {}};
  prometheus::MetricFamily durations{std::string(kFunctionDurationsFamily),
                                     "Duration of function calls in seconds.",
                                     prometheus::MetricType::Histogram,
                                     {}};
  for (const NamedAggregate& one : series) {
    // In the order prometheus-cpp gives the sink's series (by name), so that both look alike.
    const std::vector<prometheus::ClientMetric::Label> label_set = {
        {"function", one.function},
        {"instance", labels.instance},
        {"service", labels.service.empty() ? service_of(one.pid) : labels.service},
        {"worker", labels.worker.empty() ? std::to_string(one.pid) : labels.worker}};
    prometheus::ClientMetric count;
    count.label = label_set;
    count.counter.value = static_cast<double>(one.total.count);
    calls.metric.push_back(std::move(count));
    prometheus::ClientMetric histogram;
    histogram.label = label_set;
    histogram.histogram.sample_count = one.total.count;
    histogram.histogram.sample_sum = static_cast<double>(one.total.sum_ns) / 1e9;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < PROFILIS_AGGREGATE_BUCKETS; ++b) {
      cumulative += one.total.buckets[b];
      const double bound = b + 1 < PROFILIS_AGGREGATE_BUCKETS
                               ? static_cast<double>(kBoundsNs[b]) / 1e9
                               : std::numeric_limits<double>::infinity();
      histogram.histogram.bucket.push_back({cumulative, bound});
    }
    durations.metric.push_back(std::move(histogram));
  }
  return {std::move(calls), std::move(durations)};
}

void merge_families(std::vector<prometheus::MetricFamily>& into,
                    std::vector<prometheus::MetricFamily> more) {
  for (prometheus::MetricFamily& family : more) {
    auto same = std::find_if(into.begin(), into.end(),
                             [&](const auto& existing) { return existing.name == family.name; });
    if (same == into.end()) {
      into.push_back(std::move(family));
      continue;
    }
    for (auto& metric : family.metric) same->metric.push_back(std::move(metric));
  }
}

AggregateMetrics::AggregateMetrics(const BpfPrograms& program,
                                   std::shared_ptr<prometheus::Collectable> registry,
                                   std::vector<std::string> fn_names, AggregateLabels labels)
    : program_(program),
      registry_(std::move(registry)),
      fn_names_(std::move(fn_names)),
      labels_(std::move(labels)) {}

std::string AggregateMetrics::service_of(pid_t pid) const {
  // Kept once read: a series outlives its process, and its label must not change.
  const std::lock_guard lock(mutex_);
  auto [it, added] = services_.try_emplace(pid);
  if (added) {
    it->second = process_comm(pid);
    if (it->second.empty()) it->second = std::to_string(pid);
  }
  return it->second;
}

std::vector<prometheus::MetricFamily> AggregateMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  merge_families(families, aggregate_families(read_aggregates(program_, fn_names_), labels_,
                                              [this](pid_t pid) { return service_of(pid); }));
  return families;
}

}  // namespace profilis
