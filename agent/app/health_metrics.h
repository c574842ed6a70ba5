// The agent's own health as Prometheus metrics: what the probes produced, what each sink got and
// what was dropped where, how full the queues are, how often each sink failed, which strings
// could not be read. Read at scrape time, so a scrape shows the counters as they are then.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/common/event.h"

namespace profilis {

class BpfPrograms;
class Collector;
class RingReader;
class RecordDecoder;

// One reading of every counter the health metrics show.
struct HealthReading {
  struct SinkReading {
    std::string name;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    std::uint64_t errors = 0;
  };
  std::uint64_t produced = 0;
  std::uint64_t kernel_dropped = 0;   // ring buffer full
  std::uint64_t decoder_dropped = 0;  // records not understood
  std::vector<SinkReading> sinks;
  std::uint64_t queue_depth = 0;                                 // the deepest sink queue
  std::array<std::uint64_t, kStringFieldCount> unreadable = {};  // in kStringFields order
  // Exec/exit notices under --node/--binary the kernel had no room for.
  std::uint64_t process_notices_lost = 0;
  // Calls the kernel saw begin but could not time, by reason (too_deep, no_stack, unmatched,
  // abandoned).
  std::uint64_t calls_too_deep = 0, calls_without_stack = 0, returns_unmatched = 0,
                calls_abandoned = 0, calls_without_aggregate_slot = 0;
};

// The families of one reading, in the text format's terms.
std::vector<prometheus::MetricFamily> health_families(const HealthReading& reading);

class HealthMetrics : public prometheus::Collectable {
 public:
  // Every referenced object must outlive the metrics server that collects this.
  HealthMetrics(const BpfPrograms& program, const Collector& collector, const RingReader& reader,
                const RecordDecoder& decoder)
      : program_(program), collector_(collector), reader_(reader), decoder_(decoder) {}

  HealthReading read() const;
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const BpfPrograms& program_;
  const Collector& collector_;
  const RingReader& reader_;
  const RecordDecoder& decoder_;
};

}  // namespace profilis
