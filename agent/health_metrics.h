// The agent's own health as Prometheus metrics: what was dropped where, how full the queue is, how
// often each sink failed. Read at scrape time through registry callbacks.
#pragma once

#include <atomic>

namespace profilis {

class Registry;
class BpfPrograms;
class Collector;
class RingReader;
class JsonlSink;

// Every referenced object must outlive the registry's last collection (the metrics server).
// `jsonl` may be null when no JSONL sink runs.
void register_health_metrics(Registry& registry, const BpfPrograms& program,
                             const Collector& collector, const RingReader& reader,
                             const JsonlSink* jsonl);

}  // namespace profilis
