// The agent's own health as Prometheus metrics: what the probes produced, what each sink got and
// what was dropped where, how full the queues are, how often each sink failed, which strings
// could not be read. Read at scrape time
// through registry callbacks.
#pragma once

#include <atomic>

namespace profilis {

class Registry;
class BpfPrograms;
class Collector;
class RingReader;
class RecordDecoder;

// Every referenced object must outlive the registry's last collection (the metrics server).
void register_health_metrics(Registry& registry, const BpfPrograms& program,
                             const Collector& collector, const RingReader& reader,
                             const RecordDecoder& decoder);

}  // namespace profilis
