#pragma once

#include "agent/app/cli.h"

namespace profilis {

// Traces as `options` say until a stop signal, --duration, or the exit of every target; then
// detaches, drains and finalizes. Throws AgentError on failure.
void run_agent(const Options& options);

}  // namespace profilis
