# shellcheck shell=bash
# Sourced by the benchmark scripts: what each of them does the same way.

# wait_for_tracer TRACER_PID FILE PATTERN STDERR_FILE VICTIM_PID: waits until the tracer's output
# FILE holds a line matching PATTERN (it is ready); if the tracer exits first, prints its
# STDERR_FILE, kills the process it was to trace and exits 1.
wait_for_tracer() {
  local tracer_pid=$1 file=$2 pattern=$3 err=$4 victim=$5
  until grep -qs -- "$pattern" "$file"; do
    if ! kill -0 "$tracer_pid" 2>/dev/null; then
      cat "$err" >&2
      kill "$victim" 2>/dev/null || true
      exit 1
    fi
    sleep 0.05
  done
}

# wait_for_agent AGENT_PID STDERR_FILE VICTIM_PID: the same for profilis-agent, which says on its
# stderr when it is tracing.
wait_for_agent() { wait_for_tracer "$1" "$2" 'profilis-agent: tracing' "$2" "$3"; }
