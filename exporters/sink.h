// What the collector delivers batches to.
#pragma once

#include <span>
#include <string_view>

#include "exporters/event.h"

namespace profilis {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string_view name() const = 0;
  // Called from the collector's one sink thread only. May throw: the collector counts the failure
  // and goes on with the other sinks.
  virtual void write(std::span<const Event> batch) = 0;
  // Called from the sink thread on every wake, at least once per flush interval, also when no
  // event arrives: for work driven by time, such as rotating a file by age.
  virtual void tick() {}
  // Called once, after the last write.
  virtual void finalize() = 0;
};

}  // namespace profilis
