#!/usr/bin/env bash
# Sustained rate, end to end: two threads of the burst fixture hit the profilis markers (a REQ with
# an FN and a DB marker inside: three events an iteration) or a --fn probe as fast as they can —
# or paced to a given rate — for SECONDS, traced by the agent with all three sinks on (JSONL on a
# tmpfs, the console into /dev/null, Prometheus). For each run: events produced per second while
# the burst ran, events delivered per second until every sink had them all, drops per stage, the
# agent's CPU time per million events and its peak RSS. The paced runs find the rate up to which
# nothing is dropped: past it the agent cannot keep up and, once the ring buffer is full, the
# kernel drops (and counts) what does not fit. Needs root and a build with the fixtures.
# Usage: bench/sustained_rate.sh [BUILD_DIR (build)] [SECONDS (20)] [RATES ("0")] [MODES ("markers fn")]
#   RATES: iterations per second per thread, 0 for as fast as it can; e.g. "50000 100000 0".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
seconds=${2:-20}
rates=${3:-0}
modes=${4:-markers fn}
agent=$build/profilis-agent
burst=$build/tests/fixtures/burst/burst
for f in "$agent" "$burst"; do
  [[ -x $f ]] || { echo "sustained_rate: $f missing; build first" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "sustained_rate: curl not installed" >&2; exit 1; }

dir=$(mktemp -d /dev/shm/profilis-rate.XXXXXX)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$dir"' EXIT
port=19464
ticks=$(getconf CLK_TCK)

metric() { sed -n "s/^$1 //p" "$dir/metrics" | head -1; }

printf '%-8s %9s %12s %12s %12s %10s %10s %10s %12s %9s\n' mode rate/thr produced/s delivered/s \
  produced kernel_drop sink_drop drain_s cpu_s/M_ev rss_MiB
for mode in $modes; do
  for rate in $rates; do
    rm -rf "$dir/run"; mkdir -p "$dir/run/jsonl"
    mkfifo "$dir/run/go"
    "$burst" "$mode" 0 2 "$seconds" "$rate" <"$dir/run/go" >/dev/null 2>"$dir/run/burst.err" &
    burst_pid=$!
    exec 3>"$dir/run/go"
    probes=(--db none)
    [[ $mode == fn ]] && probes+=(--fn burst_target)
    "$agent" --pid "$burst_pid" "${probes[@]}" ${AGENT_ARGS:-} --jsonl-dir "$dir/run/jsonl" --console \
      --prometheus "127.0.0.1:$port" >/dev/null 2>"$dir/run/agent.err" &
    agent_pid=$!
    for _ in $(seq 300); do grep -q "profilis-agent: tracing" "$dir/run/agent.err" && break; sleep 0.1; done
    start=$(date +%s.%N)
    echo go >&3
    until grep -q "burst: done" "$dir/run/burst.err"; do sleep 0.05; done
    burst_end=$(date +%s.%N)
    # Until every sink has every event that was not dropped in the kernel (or two minutes).
    for _ in $(seq 1200); do
      curl -s "http://127.0.0.1:$port/metrics" >"$dir/metrics" || true
      produced=$(metric profilis_events_produced_total)
      kernel=$(metric 'profilis_events_dropped_total{stage="kernel"}')
      settled=1
      for sink in jsonl console prometheus; do
        got=$(metric "profilis_events_delivered_total{sink=\"$sink\"}")
        lost=$(metric "profilis_events_dropped_total{stage=\"$sink\"}")
        [[ -n $produced && -n $got && $((got + lost + kernel)) -eq $produced ]] || settled=0
      done
      ((settled)) && break
      sleep 0.1
    done
    end=$(date +%s.%N)
    read -r utime stime < <(awk '{print $14, $15}' "/proc/$agent_pid/stat")
    rss_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$agent_pid/status")
    delivered=$(metric 'profilis_events_delivered_total{sink="jsonl"}')
    sink_drops=0
    for sink in jsonl console prometheus; do
      sink_drops=$((sink_drops + $(metric "profilis_events_dropped_total{stage=\"$sink\"}")))
    done
    kill -TERM "$agent_pid"
    wait "$agent_pid" || true
    exec 3>&-
    wait "$burst_pid" || true
    awk -v m="$mode" -v r="$rate" -v p="$produced" -v d="$delivered" -v k="$kernel" \
      -v s="$sink_drops" -v t0="$start" -v t1="$burst_end" -v t2="$end" -v u="$utime" \
      -v st="$stime" -v hz="$ticks" -v rss="$rss_kib" 'BEGIN {
        cpu = (u + st) / hz
        printf "%-8s %9s %12.0f %12.0f %12d %10d %10d %10.1f %12.2f %9.1f\n", m, (r == 0 ? "max" : r),
          p / (t1 - t0), d / (t2 - t0), p, k, s, t2 - t1, (d > 0 ? cpu / (d / 1e6) : 0), rss / 1024
      }'
    grep -h "events produced" "$dir/run/agent.err" | sed 's/^/    /'
  done
done
