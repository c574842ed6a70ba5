#pragma once

#include <cstdint>

namespace profilis {

// BPF timestamps are CLOCK_MONOTONIC; events carry Unix epoch time. Adding this offset converts
// one to the other (sampled once at start: the two clocks drift apart only when NTP slews).
std::int64_t monotonic_to_realtime_offset_ns();

}  // namespace profilis
