#include "agent/common/wall_clock.h"

#include <time.h>

namespace profilis {
namespace {

std::int64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::int64_t monotonic_to_realtime_offset_ns() {
  // Bracket a monotonic read between two realtime reads and keep the tightest of a few tries, so a
  // preemption between the reads cannot skew the offset.
  std::int64_t best_gap = INT64_MAX, offset = 0;
  for (int i = 0; i < 5; ++i) {
    const std::int64_t before = now_ns(CLOCK_REALTIME);
    const std::int64_t mono = now_ns(CLOCK_MONOTONIC);
    const std::int64_t after = now_ns(CLOCK_REALTIME);
    if (after - before < best_gap) {
      best_gap = after - before;
      offset = before + (after - before) / 2 - mono;
    }
  }
  return offset;
}

}  // namespace profilis
