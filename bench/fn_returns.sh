#!/usr/bin/env bash
# Cost of timing a function's calls with --fn, by the way its returns are seen (issue 13): one loop
# calling one C++ function millions of times (bench/fn_returns_loop.cpp), untraced, traced by the
# agent with --fn-returns uretprobes, exits and auto, and by bpftrace with a uprobe and a uretprobe
# into a hist() (the classic funclatency); and by the agent with --aggregate (issue 14: calls added
# up in the kernel, no event per call). Two functions: bench_leaf, which calls nothing (auto:
# uretprobe), and bench_caller, which calls (auto: exit instructions, in a C++ object). Uprobe
# costs on virtual machines are many times those of bare metal, so the ratios carry over better
# than the figures. Every configuration runs once per round, rounds interleaved, and medians are
# reported, by the loop thread's CPU time (which holds what a probe hit costs: the kernel handles
# it on that thread). Prints a Markdown table. Needs root, bpftrace, and a build with the
# benchmarks.
# Usage: bench/fn_returns.sh [BUILD_DIR (build)] [ROUNDS (5)] [TRACED_CALLS (200000)]
#                            [UNTRACED_CALLS (100000000)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-5}
traced_calls=${3:-200000}
untraced_calls=${4:-100000000}
agent=$build/profilis-agent
loop=$build/bench/fn_returns_loop
for f in "$agent" "$loop"; do
  [[ -x $f ]] || { echo "fn_returns: $f missing; build with the benchmarks first" >&2; exit 1; }
done
command -v bpftrace >/dev/null || { echo "fn_returns: bpftrace not installed" >&2; exit 1; }

# The loop on CPU 0 and every tracer on CPU 1: a tracer sharing the loop's CPU (the agent draining
# its ring buffer) would be charged to the calls.
loop_cpu=0
tracer_cpu=1

dir=$(mktemp -d /tmp/profilis-fn-returns-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# "WALL CPU": ns per call by CLOCK_MONOTONIC and by the loop thread's CPU time.
times() { sed -n 's/^ns_per_iter \([0-9.]*\) cpu_ns_per_iter \([0-9.]*\) .*$/\1 \2/p'; }

untraced() { "$loop" "$untraced_calls" "$1" --cpu "$loop_cpu" | times; }

# bpftrace -c attaches before it lets the loop run. At exit it may complain that it failed to
# detach (it looks for the legacy uprobe_events file): harmless, so its stderr is shown only when
# the run failed. The histogram is checked to hold every call, so that a run whose probes did not
# fire is an error rather than a suspiciously cheap result.
bpftrace_run() {
  local fn=bench_$1 out
  out=$(taskset -c "$tracer_cpu" bpftrace \
    -e "uprobe:$loop:$fn { @start[tid] = nsecs; }
        uretprobe:$loop:$fn /@start[tid]/ { @ns = hist(nsecs - @start[tid]); @calls = count(); }" \
    -c "$loop $traced_calls $1 --cpu $loop_cpu" 2>"$dir/bpftrace.err")
  if ! grep -q "^@calls: $traced_calls\$" <<<"$out"; then
    echo "fn_returns: bpftrace did not see $traced_calls calls of $fn" >&2
    cat "$dir/bpftrace.err" >&2
    exit 1
  fi
  times <<<"$out"
}

# The agent is given a pid, so the loop waits behind "ready" until the agent says it is tracing.
# Its events are counted: every call must be one event. --verbose to check the way it chose.
agent_run() {
  local which=$1 returns=$2 fifo=$dir/go out=$dir/loop.out err=$dir/agent.err
  rm -rf "$fifo" "$out" "$err" "$dir/jsonl"
  mkfifo "$fifo"
  exec {go}<>"$fifo"
  "$loop" "$traced_calls" "$which" --cpu "$loop_cpu" --wait <"$fifo" >"$out" &
  local loop_pid=$!
  until grep -qs '^ready$' "$out"; do sleep 0.05; done
  local mode=()
  case $returns in
    auto) ;;
    # auto's returns, no events; --aggregate needs a /metrics port, any free one
    aggregate) mode=(--aggregate --prometheus "127.0.0.1:$((20000 + RANDOM % 20000))") ;;
    *) mode=(--fn-returns "$returns") ;;
  esac
  taskset -c "$tracer_cpu" "$agent" --pid "$loop_pid" --fn "bench_$which" "${mode[@]}" --verbose \
    --db none --jsonl-dir "$dir/jsonl" --jsonl-rotate-bytes 0 --jsonl-rotate-secs 0 \
    --ring-buffer-size 64M >/dev/null 2>"$err" &
  local agent_pid=$!
  wait_for_agent "$agent_pid" "$err" "$loop_pid"
  echo go >&"$go"
  exec {go}>&-
  wait "$loop_pid"
  wait "$agent_pid" || { cat "$err" >&2; exit 1; }
  local events
  if [[ $returns == aggregate ]]; then
    events=$(sed -n 's/^profilis-agent: \([0-9]*\) calls added up in the kernel.*/\1/p' "$err")
  else
    events=$(cat "$dir"/jsonl/*.jsonl 2>/dev/null | grep -c "\"fn\":\"bench_$which\"" || true)
  fi
  if [[ $events != "$traced_calls" ]]; then
    echo "fn_returns: the agent ($returns) reported $events events for $traced_calls calls" >&2
    cat "$err" >&2
    exit 1
  fi
  # The way it chose, for the table: "exits" or "uretprobe".
  if grep -q "attached bench_$which .*; returns by uretprobe" "$err"; then
    echo "uretprobe" >"$dir/way.$which.$returns"
  else
    echo "exits" >"$dir/way.$which.$returns"
  fi
  times <"$out"
}

# One line "ROUND FN CONFIG WALL CPU" per run.
record() {
  local fn=$1 config=$2 t
  shift 2
  t=$("$@")
  [[ -n $t ]] || { echo "fn_returns: $fn $config printed no timing" >&2; exit 1; }
  echo "$r $fn $config $t" >>"$dir/results"
}

: >"$dir/results"
for ((r = 1; r <= rounds; r++)); do
  for fn in leaf caller; do
    record "$fn" untraced untraced "$fn"
    record "$fn" bpftrace bpftrace_run "$fn"
    record "$fn" uretprobes agent_run "$fn" uretprobes
    record "$fn" exits agent_run "$fn" exits
    record "$fn" auto agent_run "$fn" auto
    record "$fn" aggregate agent_run "$fn" aggregate
  done
  echo "round $r of $rounds done" >&2
done

auto_leaf=$(cat "$dir/way.leaf.auto")
auto_caller=$(cat "$dir/way.caller.auto")
awk -v rounds="$rounds" -v calls="$traced_calls" -v auto_leaf="$auto_leaf" \
  -v auto_caller="$auto_caller" -f "$root/bench/stats.awk" -f <(
  cat <<'AWK'
  { cpu[$2, $3] = cpu[$2, $3] " " $5; wall[$2, $3] = wall[$2, $3] " " $4 }
  END {
    split("untraced bpftrace uretprobes exits auto aggregate", configs, " ")
    label["untraced"] = "untraced"
    label["bpftrace"] = "bpftrace uprobe + uretprobe, hist()"
    label["uretprobes"] = "agent `--fn-returns uretprobes`"
    label["exits"] = "agent `--fn-returns exits`"
    label["aggregate"] = "agent `--aggregate` (auto returns, no events)"
    printf "\n%d calls per traced run, medians of %d rounds, loop thread CPU time (wall in brackets)\n\n", calls, rounds
    printf "| function | configuration | ns per call | added ns per call | vs bpftrace |\n"
    printf "|---|---|---:|---:|---:|\n"
    split("leaf caller", fns, " ")
    for (f = 1; f <= 2; f++) {
      fn = fns[f]
      label["auto"] = "agent `--fn-returns auto` (" (fn == "leaf" ? auto_leaf : auto_caller) ")"
      base = median(cpu[fn, "untraced"])
      bt = median(cpu[fn, "bpftrace"]) - base
      for (c = 1; c <= 6; c++) {
        k = configs[c]
        m = median(cpu[fn, k]); w = median(wall[fn, k])
        if (k == "untraced") {
          printf "| `bench_%s` | %s | %.2f (%.2f) | | |\n", fn, label[k], m, w
        } else {
          printf "| `bench_%s` | %s | %.0f (%.0f) | %.0f | %.2fx |\n", fn, label[k], m, w, m - base, (m - base) / bt
        }
      }
    }
  }
AWK
) "$dir/results"
