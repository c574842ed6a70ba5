#include "agent/app/health_metrics.h"

#include <string>

#include "agent/pipeline/collector.h"
#include "agent/pipeline/record_decoder.h"
#include "agent/pipeline/ring_reader.h"
#include "agent/probes/loader.h"
#include "exporters/prometheus/prometheus_registry.h"

namespace profilis {
namespace {

constexpr const char* kDropped = "profilis_events_dropped_total";
constexpr const char* kDroppedHelp =
    "Events lost, by stage: kernel (ring buffer full), decoder (record not understood), or the "
    "sink that alone lost its copies (stuck, or its write failed)";

void add_dropped(Registry& registry, const std::string& stage, CallbackFamily::Read read) {
  registry.add_callback_counter(kDropped, kDroppedHelp, {"stage"}, {stage}, std::move(read));
}

}  // namespace

void register_health_metrics(Registry& registry, const BpfPrograms& program,
                             const Collector& collector, const RingReader& reader,
                             const RecordDecoder& decoder) {
  for (const StringField field : kStringFields) {
    registry.add_callback_counter(
        "profilis_unreadable_fields_total",
        "String fields the kernel could not read from the traced process: reported empty and "
        "named in the event's \"unreadable\" list",
        {"field"}, {field_name(field)},
        [&decoder, field] { return static_cast<double>(decoder.unreadable_fields(field)); });
  }
  registry.add_callback_counter(
      "profilis_events_produced_total",
      "Events the probes produced; for each sink, produced = delivered + dropped (kernel, decoder "
      "and that sink's stage)",
      {}, {},
      [&program] { return static_cast<double>(program.counters()[PROFILIS_COUNT_PRODUCED]); });
  add_dropped(registry, "kernel", [&program] {
    return static_cast<double>(program.counters()[PROFILIS_DROP_RINGBUF_FULL]);
  });
  add_dropped(registry, "decoder", [&reader] { return static_cast<double>(reader.malformed()); });
  for (std::size_t i = 0; i < collector.sink_count(); ++i) {
    const std::string sink(collector.sink_name(i));
    registry.add_callback_counter(
        "profilis_events_delivered_total", "Events delivered, per sink", {"sink"}, {sink},
        [&collector, i] { return static_cast<double>(collector.delivered(i)); });
    add_dropped(registry, sink,
                [&collector, i] { return static_cast<double>(collector.dropped(i)); });
    registry.add_callback_counter(
        "profilis_export_errors_total", "Failed calls of a sink (its next batch is tried as usual)",
        {"sink"}, {sink},
        [&collector, i] { return static_cast<double>(collector.sink_errors(i)); });
  }
  registry.add_callback_gauge("profilis_queue_depth", "Events waiting in the deepest sink queue",
                              {}, {},
                              [&collector] { return static_cast<double>(collector.depth()); });
}

}  // namespace profilis
