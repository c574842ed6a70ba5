# Sourced by the benchmark scripts: what each of them does the same way.

# wait_for_agent AGENT_PID STDERR_FILE VICTIM_PID: waits until the agent says it is tracing; if it
# exits first, prints its stderr, kills the process it was to trace and exits 1.
wait_for_agent() {
  local agent_pid=$1 err=$2 victim=$3
  until grep -qs 'profilis-agent: tracing' "$err"; do
    if ! kill -0 "$agent_pid" 2>/dev/null; then
      cat "$err" >&2
      kill "$victim" 2>/dev/null || true
      exit 1
    fi
    sleep 0.05
  done
}
