#include "agent/app/health_metrics.h"

#include <utility>

#include "agent/pipeline/collector.h"
#include "agent/pipeline/record_decoder.h"
#include "agent/pipeline/ring_reader.h"
#include "agent/probes/loader.h"

namespace profilis {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  return {std::move(name), std::move(help), type, {}};
}

void add_counter(prometheus::MetricFamily& family,
                 std::vector<prometheus::ClientMetric::Label> labels, std::uint64_t value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = static_cast<double>(value);
  family.metric.push_back(std::move(metric));
}

}  // namespace

std::vector<prometheus::MetricFamily> health_families(const HealthReading& reading) {
  using prometheus::MetricType;
  auto produced = family("profilis_events_produced_total",
                         "Events the probes produced; for each sink, produced = delivered + "
                         "dropped (kernel, decoder and that sink's stage)",
                         MetricType::Counter);
  add_counter(produced, {}, reading.produced);
  auto delivered =
      family("profilis_events_delivered_total", "Events delivered, per sink", MetricType::Counter);
  auto dropped = family("profilis_events_dropped_total",
                        "Events lost, by stage: kernel (ring buffer full), decoder (record not "
                        "understood), or the sink that alone lost its copies (stuck, or its write "
                        "failed)",
                        MetricType::Counter);
  add_counter(dropped, {{"stage", "kernel"}}, reading.kernel_dropped);
  add_counter(dropped, {{"stage", "decoder"}}, reading.decoder_dropped);
  auto errors =
      family("profilis_export_errors_total",
             "Failed calls of a sink (its next batch is tried as usual)", MetricType::Counter);
  for (const auto& sink : reading.sinks) {
    add_counter(delivered, {{"sink", sink.name}}, sink.delivered);
    add_counter(dropped, {{"stage", sink.name}}, sink.dropped);
    add_counter(errors, {{"sink", sink.name}}, sink.errors);
  }
  auto depth =
      family("profilis_queue_depth", "Events waiting in the deepest sink queue", MetricType::Gauge);
  depth.metric.emplace_back();
  depth.metric.back().gauge.value = static_cast<double>(reading.queue_depth);
  auto unreadable = family("profilis_unreadable_fields_total",
                           "String fields the kernel could not read from the traced process: "
                           "reported empty and named in the event's \"unreadable\" list",
                           MetricType::Counter);
  for (std::size_t i = 0; i < kStringFieldCount; ++i) {
    add_counter(unreadable, {{"field", field_name(kStringFields[i])}}, reading.unreadable[i]);
  }
  auto notices = family("profilis_process_notices_lost_total",
                        "Exec and exit notices of processes (--node, --binary) the kernel had no "
                        "room for: those processes' labels and new files may be missed, never "
                        "their events",
                        MetricType::Counter);
  add_counter(notices, {}, reading.process_notices_lost);
  auto unmeasured = family(
      "profilis_calls_unmeasured_total",
      "Calls the probes saw but could not time, by reason: too_deep (nesting "
      "beyond 32 per thread), no_stack (no per-thread or per-goroutine slot), "
      "unmatched (a return with no entry: attached mid-call), abandoned (left "
      "by an exception, longjmp or Go panic without returning), aggregate_full (--aggregate: "
      "no free series slot)",
      MetricType::Counter);
  add_counter(unmeasured, {{"reason", "too_deep"}}, reading.calls_too_deep);
  add_counter(unmeasured, {{"reason", "no_stack"}}, reading.calls_without_stack);
  add_counter(unmeasured, {{"reason", "unmatched"}}, reading.returns_unmatched);
  add_counter(unmeasured, {{"reason", "abandoned"}}, reading.calls_abandoned);
  add_counter(unmeasured, {{"reason", "aggregate_full"}}, reading.calls_without_aggregate_slot);
  std::vector<prometheus::MetricFamily> families;
  for (auto* f :
       {&produced, &delivered, &dropped, &errors, &depth, &unreadable, &notices, &unmeasured}) {
    if (!f->metric.empty()) families.push_back(std::move(*f));
  }
  return families;
}

HealthReading HealthMetrics::read() const {
  HealthReading reading;
  const KernelCounters counters = program_.counters();
  reading.produced = counters[PROFILIS_COUNT_PRODUCED];
  reading.kernel_dropped = counters[PROFILIS_DROP_RINGBUF_FULL];
  reading.decoder_dropped = reader_.malformed();
  for (std::size_t i = 0; i < collector_.sink_count(); ++i) {
    reading.sinks.push_back({std::string(collector_.sink_name(i)), collector_.delivered(i),
                             collector_.dropped(i), collector_.sink_errors(i)});
  }
  reading.queue_depth = collector_.depth();
  for (std::size_t i = 0; i < kStringFieldCount; ++i) {
    reading.unreadable[i] = decoder_.unreadable_fields(kStringFields[i]);
  }
  reading.process_notices_lost = program_.lost_process_notices();
  reading.calls_too_deep = counters[PROFILIS_DROP_TOO_DEEP];
  reading.calls_without_stack = counters[PROFILIS_DROP_NO_STACK];
  reading.returns_unmatched = counters[PROFILIS_DROP_UNMATCHED];
  reading.calls_abandoned = counters[PROFILIS_DROP_ABANDONED];
  reading.calls_without_aggregate_slot = counters[PROFILIS_DROP_AGGREGATE_FULL];
  return reading;
}

std::vector<prometheus::MetricFamily> HealthMetrics::Collect() const {
  return health_families(read());
}

}  // namespace profilis
