#include "agent/health_metrics.h"

#include <string>

#include "agent/collector.h"
#include "agent/loader.h"
#include "agent/ring_reader.h"
#include "exporters/jsonl_sink.h"
#include "exporters/prometheus_registry.h"

namespace profilis {
namespace {

constexpr const char* kDropped = "profilis_events_dropped_total";
constexpr const char* kDroppedHelp =
    "Events lost, by where: kernel (ring buffer full), collector (queue full, oldest dropped), "
    "jsonl (write failed), decoder (record not understood)";

void add_dropped(Registry& registry, const char* stage, CallbackFamily::Read read) {
  registry.add_callback_counter(kDropped, kDroppedHelp, {"stage"}, {stage}, std::move(read));
}

}  // namespace

void register_health_metrics(Registry& registry, const BpfPrograms& program,
                             const Collector& collector, const RingReader& reader,
                             const JsonlSink* jsonl) {
  add_dropped(registry, "kernel", [&program] {
    return static_cast<double>(program.drops()[PROFILIS_DROP_RINGBUF_FULL]);
  });
  add_dropped(registry, "collector",
              [&collector] { return static_cast<double>(collector.dropped()); });
  add_dropped(registry, "jsonl",
              [jsonl] { return jsonl ? static_cast<double>(jsonl->dropped_events()) : 0.0; });
  add_dropped(registry, "decoder", [&reader] { return static_cast<double>(reader.malformed()); });
  registry.add_callback_gauge("profilis_queue_depth", "Events waiting in the collector's queue", {},
                              {}, [&collector] { return static_cast<double>(collector.depth()); });
  for (std::size_t i = 0; i < collector.sink_count(); ++i) {
    registry.add_callback_counter(
        "profilis_export_errors_total", "Failed deliveries to a sink (it is retried next batch)",
        {"sink"}, {std::string(collector.sink_name(i))},
        [&collector, i] { return static_cast<double>(collector.sink_errors(i)); });
  }
}

}  // namespace profilis
