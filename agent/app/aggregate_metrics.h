// --aggregate's calls as Prometheus metrics: the kernel adds each call of an aggregated function to
// its series (per process and function, bpf/fn_latency.bpf.c); at each scrape these are read and
// served in the FN families, merged with the sink's own series of those families so that each
// family appears once in the exposition.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/probes/loader.h"

namespace profilis {

struct AggregateLabels {
  std::string instance;
  std::string service;  // empty: each process's name
  std::string worker;   // empty: each process's pid
};

// The calls of one function name in one process.
struct NamedAggregate {
  pid_t pid = 0;
  std::string function;
  profilis_aggregate total{};
};

// The series of --fn (`names` by fn_id) and --python-fn under their names, one per process and
// name (Python code objects of one name in one file are one function), in that order; series
// without calls, with an unknown fn_id or an unread name left out.
std::vector<NamedAggregate> named_aggregates(const std::vector<AggregateSeries>& fn_series,
                                             const std::vector<std::string>& names,
                                             const std::vector<PythonAggregateSeries>& python);

// The two FN families of `series`: counts, and histograms with the buckets of every duration
// histogram (cumulative, +Inf last); `service_of` for a pid's service label.
std::vector<prometheus::MetricFamily> aggregate_families(
    const std::vector<NamedAggregate>& series, const AggregateLabels& labels,
    const std::function<std::string(pid_t)>& service_of);

// `into` with the metrics of each family of `more` added to the family of the same name (a family
// `into` lacks is appended).
void merge_families(std::vector<prometheus::MetricFamily>& into,
                    std::vector<prometheus::MetricFamily> more);

// Every aggregated series the kernel holds, under its name.
std::vector<NamedAggregate> read_aggregates(const BpfPrograms& program,
                                            const std::vector<std::string>& fn_names);

// Collected in place of the registry: the registry's families, with the aggregated series merged.
class AggregateMetrics : public prometheus::Collectable {
 public:
  // `program` and `registry` must outlive this.
  AggregateMetrics(const BpfPrograms& program, std::shared_ptr<prometheus::Collectable> registry,
                   std::vector<std::string> fn_names, AggregateLabels labels);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string service_of(pid_t pid) const;

  const BpfPrograms& program_;
  std::shared_ptr<prometheus::Collectable> registry_;
  std::vector<std::string> fn_names_;
  AggregateLabels labels_;
  mutable std::mutex mutex_;  // scrapes run on the server's threads, concurrently
  mutable std::map<pid_t, std::string> services_;
};

}  // namespace profilis
