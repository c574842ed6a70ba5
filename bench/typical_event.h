// The event the benchmarks treat as typical: a function call in a traced web service.
#pragma once

#include "exporters/common/event.h"

namespace profilis::bench {

inline Event typical_fn_event() {
  Event e;
  e.kind = EventKind::kFn;
  e.ts_ns = 1764031200123456789ull;
  e.dur_ns = 812345;
  e.pid = 4242;
  e.tid = 4243;
  e.comm = "api-worker";
  e.service = "api";
  e.fn = "myapp::handlers::UserController::show(int)";
  return e;
}

}  // namespace profilis::bench
