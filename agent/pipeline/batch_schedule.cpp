#include "agent/pipeline/batch_schedule.h"

#include <algorithm>

namespace profilis {

BatchSchedule::BatchSchedule(std::size_t batch_max, std::chrono::milliseconds interval,
                             Clock::time_point start)
    : batch_max_(std::max<std::size_t>(batch_max, 1)), interval_(interval), last_(start) {}

std::size_t BatchSchedule::due(std::size_t queued, Clock::time_point now, bool stopping) const {
  if (queued >= batch_max_ || stopping || (queued > 0 && interval_elapsed(now))) {
    return std::min(queued, batch_max_);
  }
  return 0;
}

}  // namespace profilis
