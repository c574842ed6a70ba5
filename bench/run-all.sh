#!/usr/bin/env bash
# Every side-by-side benchmark in one command: each runs the same workload untraced, traced by the
# cheapest equivalent bpftrace program where there is one, and traced by profilis-agent, in
# interleaved rounds, and prints a Markdown table of medians and ratios (the ratios are the result:
# the machine is noisy). Prints the machine first, then each table under its heading:
#   1. function entry + return (and --aggregate) vs bpftrace uprobe + uretprobe hist()
#      (bench/fn_returns.sh)
#   2. markers vs bpftrace usdt: at the same sites, <sys/sdt.h> vs ours (bench/usdt_overhead.sh)
#   3. database: pgbench select-only and a 2 ms-per-query client against a local PostgreSQL, vs
#      bpftrace on the same libpq functions, and probe hits per query (bench/db_overhead.sh)
#   4. sustained rate with all sinks on (bench/sustained_rate.sh)
#   5. Python functions (bench/python_fn_overhead.sh)
#   6. start-up and shutdown: 1 000 functions by one glob vs bpftrace, --node on 50 processes
#      (bench/startup.sh; one round: bpftrace takes ~4 minutes to let go of 2 000 uprobes)
# Needs root, bpftrace, bpftool, jq, curl, a build with the benchmarks and the tests' fixtures, and
# the packages of scripts/install-deps.sh. Takes about 25 minutes with 5 rounds.
# Usage: bench/run-all.sh [BUILD_DIR (build)] [ROUNDS (5)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-5}

echo "# profilis-agent benchmarks"
echo
echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "- kernel: $(uname -r); $(bpftrace --version 2>/dev/null | head -1)"
echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ)"

section() {
  echo
  echo "## $1"
  shift
  if ! "$@"; then
    echo
    echo "(failed: $*)"
  fi
}

section "1. Function entry + return, and --aggregate, vs bpftrace" \
  bash "$root/bench/fn_returns.sh" "$build" "$rounds"
section "2. Markers vs bpftrace usdt" bash "$root/bench/usdt_overhead.sh" "$build" "$rounds"
section "3. Database: pgbench select-only and a 2 ms-per-query client, vs bpftrace" \
  bash "$root/bench/db_overhead.sh" "$build" "$rounds"
section "4. Sustained rate, all sinks on" bash "$root/bench/sustained_rate.sh" "$build" 10
section "5. Python functions" bash "$root/bench/python_fn_overhead.sh" "$build" "$rounds"
section "6. Start-up and shutdown: 1 000 functions vs bpftrace, --node on 50 processes" \
  bash "$root/bench/startup.sh" "$build" 1 300
