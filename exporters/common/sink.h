// What the collector delivers batches to.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "exporters/common/event.h"

namespace profilis {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string_view name() const = 0;
  // Called from this sink's own thread only. May throw: the batch is counted as dropped by this
  // sink, and the next batch is tried as usual.
  virtual void write(std::span<const Event> batch) = 0;
  // Called from the sink thread on every wake, at least once per flush interval, also when no
  // event arrives: for work driven by time, such as rotating a file by age.
  virtual void tick() {}
  // Called once on the sink's thread, before any write, when the agent starts tracing. A sink of an
  // agent that failed before (a port in use) is finalized without it.
  virtual void begin() {}
  // Called once, after the last write.
  virtual void finalize() = 0;
  // Events of batches it was given that the sink itself could not keep (a failed file write).
  // Read from any thread.
  virtual std::uint64_t dropped_events() const { return 0; }
};

}  // namespace profilis
