#!/usr/bin/env bash
# Cost of a profilis marker, off and traced, as ratios against peers run side by side: a marker
# with no agent against an empty loop; a marker hit traced by profilis-agent against the same site
# traced by bpftrace with an empty action (the cheapest probe there is at that site); and our marker
# against the same marker written with Debian's <sys/sdt.h>, each traced by both. Uprobe costs on
# virtual machines are many times those of bare metal, so only the ratios carry over. Every
# configuration runs once per round, rounds interleaved, and medians are reported; a missed goal
# prints FAIL but is not an error. Needs root, bpftrace, and a build with the benchmarks.
# Usage: bench/usdt_overhead.sh [BUILD_DIR (build)] [ROUNDS (5)] [TRACED_ITERATIONS (100000)]
#                               [OFF_ITERATIONS (200000000)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-5}
traced_iters=${3:-100000}
off_iters=${4:-200000000}
agent=$build/profilis-agent
empty=$build/bench/usdt_marker_loop_empty
ours=$build/bench/usdt_marker_loop_profilis
sysdt=$build/bench/usdt_marker_loop_sysdt
for f in "$agent" "$empty" "$ours" "$sysdt"; do
  [[ -x $f ]] || { echo "usdt_overhead: $f missing; build with the benchmarks first" >&2; exit 1; }
done
command -v bpftrace >/dev/null || { echo "usdt_overhead: bpftrace not installed" >&2; exit 1; }

# The loop on CPU 0 and every tracer on CPU 1: a tracer sharing the loop's CPU (the agent draining
# its ring buffer) would be charged to the markers.
loop_cpu=0
tracer_cpu=1

dir=$(mktemp -d /tmp/profilis-usdt-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# "WALL CPU": ns per iteration by CLOCK_MONOTONIC and by the loop thread's CPU time.
times() { sed -n 's/^ns_per_iter \([0-9.]*\) cpu_ns_per_iter \([0-9.]*\)$/\1 \2/p'; }

untraced() { "$1" "$2" --cpu "$loop_cpu" | times; }

# bpftrace -c attaches, raising the semaphores, before it lets CMD run, so nothing to wait for. At
# exit it complains that it failed to detach (it looks for the legacy uprobe_events file): harmless,
# so its stderr is shown only when the run failed.
bpftrace_run() {
  local bin=$1 out
  out=$(taskset -c "$tracer_cpu" bpftrace \
    -e "usdt:$bin:profilis:fn_begin, usdt:$bin:profilis:fn_end {}" \
    -c "$bin $traced_iters --cpu $loop_cpu" 2>"$dir/bpftrace.err" | times)
  [[ -n $out ]] || { cat "$dir/bpftrace.err" >&2; exit 1; }
  echo "$out"
}

# The agent is given a pid, so the loop waits behind "ready" until the agent says it is tracing.
# Its events are counted, so a run where the markers were not traced is an error rather than a
# suspiciously cheap result. --db none: the database probes would only slow the agent's exit.
agent_run() {
  local bin=$1 fifo=$dir/go out=$dir/loop.out err=$dir/agent.err
  rm -rf "$fifo" "$out" "$err" "$dir/jsonl"
  mkfifo "$fifo"
  # Held open read-write so that opening it for the loop's stdin does not block.
  exec {go}<>"$fifo"
  "$bin" "$traced_iters" --cpu "$loop_cpu" --wait <"$fifo" >"$out" &
  local loop=$!
  until grep -qs '^ready$' "$out"; do sleep 0.05; done
  taskset -c "$tracer_cpu" "$agent" --pid "$loop" --db none --jsonl-dir "$dir/jsonl" \
    --jsonl-rotate-bytes 0 --jsonl-rotate-secs 0 >/dev/null 2>"$err" &
  local agent_pid=$!
  wait_for_agent "$agent_pid" "$err" "$loop"
  echo go >&"$go"
  exec {go}>&-
  wait "$loop"
  wait "$agent_pid" || { cat "$err" >&2; exit 1; }
  if ! grep -qs '"kind":"FN"' "$dir"/jsonl/*; then
    echo "usdt_overhead: the agent reported no FN event for $bin" >&2
    cat "$err" >&2
    exit 1
  fi
  times <"$out"
}

# One line "ROUND CONFIG WALL CPU" per run.
record() {
  local config=$1 t
  shift
  t=$("$@")
  [[ -n $t ]] || { echo "usdt_overhead: $config printed no timing" >&2; exit 1; }
  echo "$r $config $t" >>"$dir/round"
}

results=$dir/results
for ((r = 1; r <= rounds; r++)); do
  : >"$dir/round"
  record empty_off untraced "$empty" "$off_iters"
  record ours_off untraced "$ours" "$off_iters"
  record sysdt_off untraced "$sysdt" "$off_iters"
  record ours_bpftrace bpftrace_run "$ours"
  record ours_agent agent_run "$ours"
  record sysdt_bpftrace bpftrace_run "$sysdt"
  record sysdt_agent agent_run "$sysdt"
  awk '{printf "%s%s %.3f", (NR == 1 ? "round " $1 ", ns/iteration by CPU time (wall):" : ","), " " $2, $4
        printf " (%.3f)", $3} END {print ""}' "$dir/round"
  cat "$dir/round" >>"$results"
done

# Each loop iteration is one FN_BEGIN and one FN_END: two markers, two hits. A traced hit costs
# what tracing adds to the same loop untraced; an off marker what it adds to the empty loop.
# CPU time is what the verdicts use: it leaves out other tasks that took the loop's CPU on a busy
# machine, yet keeps everything a hit costs, since the kernel handles a hit on the loop's thread.
awk -v rounds="$rounds" -v per_iter=2 -f "$root/bench/stats.awk" -f <(
  cat <<'AWK'
  function verdict(ok) { return ok ? "PASS" : "FAIL" }
  { wall[$2] = wall[$2] " " $3; cpu[$2] = cpu[$2] " " $4; at[$1, $2] = $4 }
  END {
    split("empty_off ours_off sysdt_off ours_bpftrace ours_agent sysdt_bpftrace sysdt_agent", names, " ")
    base["ours_bpftrace"] = base["ours_agent"] = "ours_off"
    base["sysdt_bpftrace"] = base["sysdt_agent"] = "sysdt_off"
    printf "\nmedians of %d rounds, ns per iteration (1 iteration = %d markers), CPU time (wall):\n", rounds, per_iter
    for (i = 1; i <= 7; i++) {
      c = names[i]; m[c] = median(cpu[c]); w[c] = median(wall[c])
      printf "  %-15s %10.3f  (%.3f)\n", c, m[c], w[c]
    }
    off = (m["ours_off"] - m["empty_off"]) / per_iter
    off_sysdt = (m["sysdt_off"] - m["empty_off"]) / per_iter
    printf "\noff, ns per marker: ours %.3f, sys/sdt.h %.3f (wall: %.3f, %.3f)\n", off, off_sysdt,
      (w["ours_off"] - w["empty_off"]) / per_iter, (w["sysdt_off"] - w["empty_off"]) / per_iter
    printf "traced, ns per hit: median (range over rounds) (wall median)\n"
    for (i = 4; i <= 7; i++) {
      c = names[i]; b = base[c]
      hit[c] = (m[c] - m[b]) / per_iter
      per_round = ""
      for (r = 1; r <= rounds; r++) per_round = per_round " " (at[r, c] - m[b]) / per_iter
      printf "  %-15s %8.1f  (%s)  (%.1f)\n", c, hit[c], range(per_round, 2), (w[c] - w[b]) / per_iter
      if (hit[c] < 10) {
        printf "usdt_overhead: %s adds %.1f ns per hit: its probes did not fire\n", c, hit[c] > "/dev/stderr"
        failed = 1
      }
    }
    if (failed) exit 1
    # Ratios of the medians, and the range of the same ratio taken within each round, where both
    # sides ran back to back.
    ratios["agent/bpftrace, our marker"] = "ours_agent ours_bpftrace"
    ratios["agent/bpftrace, sys/sdt.h marker"] = "sysdt_agent sysdt_bpftrace"
    ratios["sys/sdt.h/ours, agent"] = "sysdt_agent ours_agent"
    ratios["sys/sdt.h/ours, bpftrace"] = "sysdt_bpftrace ours_bpftrace"
    split("agent/bpftrace, our marker|agent/bpftrace, sys/sdt.h marker|sys/sdt.h/ours, agent|sys/sdt.h/ours, bpftrace", order, "|")
    printf "ratios per hit: median (range over rounds)\n"
    for (i = 1; i <= 4; i++) {
      split(ratios[order[i]], pair, " ")
      ratio[order[i]] = hit[pair[1]] / hit[pair[2]]
      per_round = ""
      for (r = 1; r <= rounds; r++) {
        per_round = per_round " " (at[r, pair[1]] - m[base[pair[1]]]) / (at[r, pair[2]] - m[base[pair[2]]])
      }
      printf "  %-34s %5.2fx  (%s)\n", order[i], ratio[order[i]], range(per_round, 2)
    }
    printf "\n%s (a) marker off: %.3f ns per marker, goal < 2 ns\n", verdict(off < 2), off
    r = ratio["agent/bpftrace, our marker"]
    printf "%s (b) agent per hit %.2fx bpftrace empty action on our marker, goal <= 1.2x\n", verdict(r <= 1.2), r
    r = ratio["sys/sdt.h/ours, agent"]
    printf "%s (c) sys/sdt.h marker per hit %.2fx ours under the agent, goal >= 2x\n", verdict(r >= 2), r
  }
AWK
) "$results"
