#!/usr/bin/env bash
# What --python-fn costs a Python program per call, measured side by side in one run: the same
# loop of calls of one small function (bench/python_fn_loop.py, Debian's /usr/bin/python3.11)
# untraced, and under the agent with the probes enabled and the call not matching the filter (by
# its function name; by its file's base name, which makes the kernel read both names), and
# matching it (an FN event per call, counted exactly). Enabling the probes also switches CPython
# 3.11 to its tracing dispatch for every instruction (see README, "Python functions"), which the
# ratios include. Every configuration runs once per round, rounds interleaved, and medians are
# reported, as a Markdown table; one more run per traced configuration with the kernel's BPF
# statistics on gives the programs' own time per run (the filter is in the entry program). Needs
# root, bpftool and a build.
# Usage: bench/python_fn_overhead.sh [BUILD_DIR (build)] [ROUNDS (5)] [CALLS (200000)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-5}
calls=${3:-200000}
agent=$build/profilis-agent
python=/usr/bin/python3.11
loop_py=$root/bench/python_fn_loop.py
[[ -x $agent ]] || { echo "python_fn_overhead: $agent missing; build first" >&2; exit 1; }
[[ -x $python ]] || { echo "python_fn_overhead: $python missing (Debian's python3.11)" >&2; exit 1; }

# The loop on CPU 0, the agent on CPU 1: the agent draining its ring buffer is not charged to the
# calls; what a call costs in the kernel (the traps, the BPF programs) runs on the loop's thread.
loop_cpu=0
tracer_cpu=1

dir=$(mktemp -d /tmp/profilis-python-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# "WALL CPU": ns per call by the wall clock and by the loop thread's CPU time.
times() { sed -n 's/^ns_per_call \([0-9.]*\) cpu_ns_per_call \([0-9.]*\)$/\1 \2/p'; }

untraced() { taskset -c "$loop_cpu" "$python" "$loop_py" "$calls" | times; }

# Starts the loop behind "ready" (stdin on a fifo held in $go); sets $loop.
start_loop() {
  local fifo=$dir/go
  rm -rf "$fifo" "$dir/loop.out"
  mkfifo "$fifo"
  exec {go}<>"$fifo"
  taskset -c "$loop_cpu" "$python" "$loop_py" "$calls" --wait <"$fifo" >"$dir/loop.out" &
  loop=$!
  until grep -qs '^ready$' "$dir/loop.out"; do sleep 0.05; done
}

# Lets the loop run, waits for its result, runs CMD... while the process is still there, and lets it
# exit.
run_loop() {
  echo go >&"$go"
  until grep -qs '^done$' "$dir/loop.out"; do sleep 0.05; done
  "$@"
  echo exit >&"$go"
  exec {go}>&-
  wait "$loop"
}

# python:line's semaphore raised by hand through /proc/PID/mem, nothing attached: what CPython's
# tracing dispatch alone costs (Debian's python3.11 is not PIE: the note's address is the address).
dispatch_only() {
  local semaphore
  semaphore=$(readelf -n "$python" | awk '/Name: line$/ { getline; print $6 }')
  start_loop
  "$python" -c 'import sys
with open(f"/proc/{sys.argv[1]}/mem", "r+b") as mem:
    mem.seek(int(sys.argv[2], 16)); value = int.from_bytes(mem.read(2), "little")
    mem.seek(int(sys.argv[2], 16)); mem.write((value + 1).to_bytes(2, "little"))' "$loop" "$semaphore"
  run_loop true
  times <"$dir/loop.out"
}

# The mean run time of the agent's BPF programs whose name starts with PREFIX (the kernel keeps 15
# characters of a name; kernel.bpf_stats_enabled), in ns.
program_ns() {
  bpftool prog show --json | "$python" -c 'import json, sys
progs = [p for p in json.load(sys.stdin)
         if p.get("name", "").startswith(sys.argv[1]) and p.get("run_cnt")]
print("%.0f" % (sum(p["run_time_ns"] for p in progs) / max(1, sum(p["run_cnt"] for p in progs))))' "$1"
}

program_stats() {
  echo "$(program_ns python_entry) $(program_ns python_return)" >"$dir/programs"
}

# traced GLOB EXPECTED_EVENTS [CMD...]: the loop under the agent with --python-fn GLOB, CMD run
# after the loop's timing. The events are counted, so that a run where the filter did not do its
# job is an error.
traced() {
  local glob=$1 expected=$2 err=$dir/agent.err
  shift 2
  rm -rf "$err" "$dir/jsonl"
  start_loop
  taskset -c "$tracer_cpu" "$agent" --pid "$loop" --db none --python-fn "$glob" \
    --jsonl-dir "$dir/jsonl" --jsonl-rotate-bytes 0 --jsonl-rotate-secs 0 >/dev/null 2>"$err" &
  local agent_pid=$!
  wait_for_agent "$agent_pid" "$err" "$loop"
  run_loop "${@:-true}"
  wait "$agent_pid" || { cat "$err" >&2; exit 1; }
  local events
  events=$(cat "$dir"/jsonl/*.jsonl 2>/dev/null | grep -c '"kind":"FN"' || true)
  if [[ $events -ne $expected ]]; then
    echo "python_fn_overhead: --python-fn '$glob' gave $events events, expected $expected" >&2
    exit 1
  fi
  times <"$dir/loop.out"
}

# One line "ROUND CONFIG WALL CPU" per run.
record() {
  local config=$1 t
  shift
  t=$("$@")
  [[ -n $t ]] || { echo "python_fn_overhead: $config printed no timing" >&2; exit 1; }
  echo "$r $config $t" | tee -a "$dir/results" >&2
}

for ((r = 1; r <= rounds; r++)); do
  record untraced untraced
  record dispatch_only dispatch_only
  record no_match_function traced 'no_such_function_*' 0
  record no_match_file traced 'other_file.py:bench_target' 0
  record match traced 'python_fn_loop.py:bench_target' "$calls"
done

# One more run of each traced configuration with the kernel's BPF statistics on (they cost two
# clock reads per program run, so the timed rounds run without them): the programs' own time.
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
trap 'sysctl -qw kernel.bpf_stats_enabled="$stats_was"; rm -rf "$dir"' EXIT
for config in "no_match_function no_such_function_* 0" \
  "no_match_file other_file.py:bench_target 0" \
  "match python_fn_loop.py:bench_target $calls"; do
  read -r name glob expected <<<"$config"
  traced "$glob" "$expected" program_stats >/dev/null
  echo "$name $(cat "$dir/programs")" >>"$dir/programs.all"
done
sysctl -qw kernel.bpf_stats_enabled="$stats_was"

awk -v rounds="$rounds" -v calls="$calls" -v programs="$dir/programs.all" -f "$root/bench/stats.awk" -f <(
  cat <<'AWK'
  { wall[$2] = wall[$2] " " $3; cpu[$2] = cpu[$2] " " $4 }
  END {
    while ((getline line < programs) > 0) { split(line, f, " "); entry[f[1]] = f[2]; ret[f[1]] = f[3] }
    split("untraced dispatch_only no_match_function no_match_file match", names, " ")
    label["untraced"] = "untraced (probes off)"
    label["dispatch_only"] = "python:line semaphore only, nothing attached (tracing dispatch)"
    label["no_match_function"] = "probes on, function name does not match"
    label["no_match_file"] = "probes on, name matches, file glob does not"
    label["match"] = "probes on, matching: one FN event per call"
    printf "\n%d calls per run, %d rounds interleaved, medians; CPU time of the loop thread (wall)\n\n", calls, rounds
    print "| configuration | ns per call | added per call | × untraced | BPF entry / return program, ns per run |"
    print "|---|---|---|---|---|"
    base = median(cpu["untraced"])
    for (i = 1; i <= 5; i++) {
      c = names[i]; m = median(cpu[c]); w = median(wall[c])
      printf "| %s | %.0f (%.0f) | %s | %.1f× | %s |\n", label[c], m, w,
        (i == 1 ? "" : sprintf("+%.0f ns", m - base)), m / base,
        (c in entry ? entry[c] " / " ret[c] : "")
    }
  }
AWK
) "$dir/results"
