#include "exporters/prometheus/prometheus_sink.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <charconv>

#include "exporters/common/utf8.h"

namespace profilis {

namespace {

constexpr double kNsPerSecond = 1e9;
constexpr const char* kOverflowName = "profilis_series_overflow_total";
constexpr const char* kOverflowHelp =
    "Events whose label set was folded into the __other__ series: their family had reached its "
    "limit of series";

const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets(kDurationBuckets.begin(),
                                                               kDurationBuckets.end());
  return buckets;
}

prometheus::Counter& overflow_counter(prometheus::Registry& registry, std::string_view family) {
  return prometheus::BuildCounter()
      .Name(kOverflowName)
      .Help(kOverflowHelp)
      .Register(registry)
      .Add({{"family", std::string(family)}});
}

}  // namespace

PrometheusSink::Kind::Kind(prometheus::Registry& registry, const PrometheusSinkOptions& options,
                           std::string_view calls_name, std::string_view calls_help,
                           std::string_view durations_name, std::string_view durations_help,
                           std::vector<std::string> varying_labels)
    : instance_(to_valid_utf8(options.instance)),
      max_series_(options.max_series_per_family),
      varying_labels_(std::move(varying_labels)),
      metric_labels_(options.metric_labels),
      calls_(prometheus::BuildCounter()
                 .Name(std::string(calls_name))
                 .Help(std::string(calls_help))
                 .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name(std::string(durations_name))
                     .Help(std::string(durations_help))
                     .Register(registry)),
      calls_overflow_(overflow_counter(registry, calls_name)),
      durations_overflow_(overflow_counter(registry, durations_name)) {}

void PrometheusSink::Kind::observe(std::initializer_list<std::string_view> values,
                                   const Event& event) {
  // Length-prefixed, so no two label-value tuples share a key whatever bytes they hold.
  key_.clear();
  const auto append = [this](std::string_view v) {
    const auto length = static_cast<std::uint32_t>(v.size());
    key_.append(reinterpret_cast<const char*>(&length), sizeof length);
    key_.append(v);
  };
  for (std::string_view v : values) append(v);
  for (MetricLabel label : metric_labels_) append(metric_label_value(event, label));
  Series series{};
  if (const auto it = series_.find(std::string_view(key_)); it != series_.end()) {
    series = it->second;
  } else if (series_.size() >= max_series_) {
    calls_overflow_.Increment();
    durations_overflow_.Increment();
    series = other();
  } else {
    series = create(values, event);
    series_.emplace(key_, series);
  }
  series.calls->Increment();
  series.durations->Observe(static_cast<double>(event.dur_ns) / kNsPerSecond);
}

PrometheusSink::Kind::Series PrometheusSink::Kind::create(
    std::initializer_list<std::string_view> values, const Event& event) {
  // Values that differ only in bytes that are not UTF-8 become one series, reached by two keys;
  // each key counts towards the limit, so a family never holds more series than that.
  auto value = values.begin();
  prometheus::Labels labels{{"service", to_valid_utf8(*value++)},
                            {"instance", instance_},
                            {"worker", to_valid_utf8(*value++)}};
  for (const std::string& name : varying_labels_) labels.emplace(name, to_valid_utf8(*value++));
  for (MetricLabel label : metric_labels_) {
    labels.emplace(metric_label_name(label), to_valid_utf8(metric_label_value(event, label)));
  }
  return {&calls_.Add(labels), &durations_.Add(labels, duration_buckets())};
}

PrometheusSink::Kind::Series PrometheusSink::Kind::other() {
  if (other_.calls == nullptr) {
    const std::string value(kOverflowLabelValue);
    prometheus::Labels labels{{"service", value}, {"instance", value}, {"worker", value}};
    for (const std::string& name : varying_labels_) labels.emplace(name, value);
    for (MetricLabel label : metric_labels_) labels.emplace(metric_label_name(label), value);
    other_ = {&calls_.Add(labels), &durations_.Add(labels, duration_buckets())};
  }
  return other_;
}

PrometheusSink::PrometheusSink(prometheus::Registry& registry, PrometheusSinkOptions options)
    : options_(std::move(options)),
      http_(registry, options_, "profilis_http_requests_total", "HTTP requests served.",
            "profilis_http_request_duration_seconds", "Duration of HTTP requests in seconds.",
            {"route", "status"}),
      functions_(registry, options_, kFunctionCallsFamily, "Completed function calls.",
                 kFunctionDurationsFamily, "Duration of function calls in seconds.", {"function"}),
      db_(registry, options_, "profilis_db_queries_total", "Completed database queries.",
          "profilis_db_query_duration_seconds", "Duration of database queries in seconds.",
          {"db_vendor"}) {
  prometheus::BuildGauge()
      .Name("profilis_build_info")
      .Help("The profilis-agent build; always 1.")
      .Register(registry)
      .Add({{"version", to_valid_utf8(options_.version)}})
      .Set(1);
}

PrometheusSink::~PrometheusSink() = default;

void PrometheusSink::write(std::span<const Event> batch) {
  for (const Event& event : batch) observe(event);
}

void PrometheusSink::observe(const Event& event) {
  char pid[16];
  std::string_view worker = options_.worker;
  if (worker.empty()) worker = {pid, std::to_chars(pid, pid + sizeof pid, event.pid).ptr};
  const std::string_view service = event.service;
  switch (event.kind) {
    case EventKind::kReq: {
      char status[16];
      const std::string_view status_text{
          status, std::to_chars(status, status + sizeof status, event.status).ptr};
      http_.observe({service, worker, event.route, status_text}, event);
      return;
    }
    case EventKind::kFn:
      functions_.observe({service, worker, event.fn}, event);
      return;
    case EventKind::kDb:
      db_.observe({service, worker, event.db_vendor}, event);
      return;
  }
}

}  // namespace profilis
