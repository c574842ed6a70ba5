#!/usr/bin/env bash
# Start-up and shutdown, the other half of issue 12's goals: how long until the probes are live,
# how long the tracer takes to exit after it is told to stop, and how long until the kernel has
# freed every BPF program it loaded (a program outlives its last link, so this is when every probe
# is really gone, whoever closed the links). Two rows:
#   1. 1 000 functions by one glob: the scale fixture (tests/fixtures/scale) traced by
#      `profilis-agent --pid PID --fn 'scale_fn_*' --db none`, against bpftrace with the cheapest
#      equivalent program: a uprobe and a uretprobe on the same glob timing each call into one
#      hist() (the classic funclatency, as in bench/fn_returns.sh). bpftrace 0.17 attaches its
#      2 000 probes one classic perf-event uprobe at a time, and lets them go the same way.
#   2. --node with 50 processes to trace (Python programs running sqlite3 queries in memory, as
#      in tests/e2e/node_rss_test.cpp) and the JSONL and Prometheus sinks on; also the agent's peak
#      RSS (VmHWM, read just before SIGTERM). bpftrace has no equivalent of --node: no peer.
# What is timed, from the outside, in ms:
#   attach: the tracer's start → the agent's "profilis-agent: tracing" line; for bpftrace → the
#           line its BEGIN probe prints, which bpftrace fires only once every probe is attached
#           (its "Attaching N probes..." line comes before any is; its time is shown too). Both
#           are checked: one "go" round of the fixture sent right after must be counted whole
#           (1 000 FN events in the agent's JSONL, @calls: 1000 from bpftrace), else the script
#           fails. (bpftrace prints its count every 200 ms, see bpftrace_fn.)
#   exit:   SIGTERM (the agent) or SIGINT (bpftrace, which ends on it) → the process has exited.
#   detach: the same signal → every BPF program the tracer loaded is gone from the kernel.
# The programs are those `bpftool prog show --json` lists while the tracer traces and did not
# list before it started: bpftool's "pids" field is empty here (null on this kernel), and
# bpftrace keeps no descriptor of its programs once each is attached to its perf event, so
# /proc/PID/fdinfo would miss them. Another tracer loading programs at the same moment would be
# counted too; the machine should be otherwise idle.
# Every wait is capped (CAP_SECONDS): a figure past it is shown as "> CAP"; a tracer still running
# then is killed, and its programs are waited for (untimed) before the next run. Every
# configuration runs once per round, rounds interleaved, medians reported. A missed goal prints
# FAIL but is not an error; a tracer that fails, or misses calls, is. Prints a Markdown table.
# Needs root, bpftrace, bpftool, jq, curl, Debian's /usr/bin/python3, and a build with the tests
# (the scale fixture).
# Usage: bench/startup.sh [BUILD_DIR (build)] [ROUNDS (3)] [CAP_SECONDS (120)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-3}
cap_s=${3:-120}
cap_ms=$((cap_s * 1000))
agent=$build/profilis-agent
fixture=$build/tests/fixtures/scale/scale_fixture
python=/usr/bin/python3
for f in "$agent" "$fixture" "$python"; do
  [[ -x $f ]] || { echo "startup: $f missing; build the agent and its tests first" >&2; exit 1; }
done
for tool in bpftrace bpftool jq curl timeout; do
  command -v "$tool" >/dev/null || { echo "startup: $tool not installed" >&2; exit 1; }
done
fn_count=1000
node_procs=50

dir=$(mktemp -d /tmp/profilis-startup-bench.XXXXXX)
# Every process started here, killed at exit whatever the way out (a signal too). Not waited for:
# a bpftrace killed with its 2 000 probes takes minutes to be gone, in the kernel.
started=()
cleanup() {
  local p
  exec 2>/dev/null  # the shell's "Killed" notices: what went wrong is already printed
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Whether PID still runs: a child that has exited stays a zombie until reaped, which kill -0 sees.
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# The ids of every BPF program loaded on the machine, one a line.
prog_ids() { bpftool prog show --json | jq -r '.[].id' | sort -n; }

# wait_for_line FILE PATTERN PID: waits until FILE holds a line matching PATTERN; fails when PID
# exits first or the cap passes.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 deadline=$(($(now_ms) + cap_ms))
  until grep -qs -- "$pattern" "$file"; do
    if ! running "$pid" || (($(now_ms) > deadline)); then
      echo "startup: no \"$pattern\" in $file (pid $pid)" >&2
      cat "$file" >&2
      return 1
    fi
    sleep 0.01
  done
}

# stop PID SIGNAL IDS_FILE: sends SIGNAL and prints "EXIT_MS DETACH_MS" (cap_ms + 1 when not by
# the cap). A tracer still running at the cap is killed; its programs are then waited for again,
# untimed but bounded, so that the next run starts on a clean kernel.
stop() {
  local pid=$1 sig=$2 ids=$3 start exit_ms detach_ms t
  start=$(now_ms)
  kill "-$sig" "$pid"
  while running "$pid" && (($(now_ms) - start <= cap_ms)); do sleep 0.01; done
  t=$(now_ms)
  if running "$pid"; then
    exit_ms=$((cap_ms + 1))
    kill -KILL "$pid"
  else
    exit_ms=$((t - start))
  fi
  while prog_ids | grep -qxFf "$ids" && (($(now_ms) - start <= cap_ms)); do sleep 0.01; done
  if prog_ids | grep -qxFf "$ids"; then
    detach_ms=$((cap_ms + 1))
    t=$(now_ms)
    while prog_ids | grep -qxFf "$ids" && (($(now_ms) - t <= 10 * cap_ms)); do sleep 0.5; done
  else
    detach_ms=$(($(now_ms) - start))
  fi
  echo "$exit_ms $detach_ms"
}

# new_ids BEFORE AFTER: the ids in AFTER and not in BEFORE; fails when there are none.
new_ids() {
  comm -13 <(sort "$1") <(sort "$2") >"$2.new"
  [[ -s $2.new ]] || { echo "startup: the tracer loaded no BPF program" >&2; return 1; }
  echo "$2.new"
}

# The scale fixture, waiting on a FIFO for its "go" lines. Sets fixture_pid and opens fd go_fd.
start_fixture() {
  rm -f "$dir/go" "$dir/fixture.err"
  mkfifo "$dir/go"
  exec {go_fd}<>"$dir/go"
  # Without the script's descriptor of the FIFO, so that closing it ends the fixture's stdin.
  "$fixture" <"$dir/go" 2>"$dir/fixture.err" {go_fd}>&- &
  fixture_pid=$!
  started+=("$fixture_pid")
  wait_for_line "$dir/fixture.err" 'scale_fixture: ready' "$fixture_pid"
}

# One round of calls, waited for.
go_round() {
  echo go >&"$go_fd"
  wait_for_line "$dir/fixture.err" 'scale_fixture: round 1 called' "$fixture_pid"
}

end_fixture() {
  exec {go_fd}>&-
  wait "$fixture_pid" || { echo "startup: the scale fixture failed" >&2; return 1; }
}

# Each run sets result to "ATTACH EXIT DETACH RSS ATTACHING" (RSS and ATTACHING "-" where not
# measured); run in this shell, not a $(...), so that what it starts is killed at exit.
agent_fn() {
  local err=$dir/agent.err jsonl=$dir/jsonl start attach pid ids times events
  rm -rf "$err" "$jsonl"
  start_fixture
  prog_ids >"$dir/before"
  start=$(now_ms)
  "$agent" --pid "$fixture_pid" --fn 'scale_fn_*' --db none --jsonl-dir "$jsonl" \
    --jsonl-rotate-bytes 0 --jsonl-rotate-secs 0 >/dev/null 2>"$err" {go_fd}>&- &
  pid=$!
  started+=("$pid")
  wait_for_line "$err" 'profilis-agent: tracing' "$pid"
  attach=$(($(now_ms) - start))
  prog_ids >"$dir/during"
  ids=$(new_ids "$dir/before" "$dir/during")
  go_round
  times=$(stop "$pid" TERM "$ids")
  wait "$pid" || { echo "startup: the agent failed" >&2; cat "$err" >&2; return 1; }
  end_fixture
  events=$(cat "$jsonl"/*.jsonl 2>/dev/null | grep -c '"kind":"FN"' || true)
  if [[ $events != "$fn_count" ]]; then
    echo "startup: the agent reported $events FN events for $fn_count calls" >&2
    cat "$err" >&2
    return 1
  fi
  result="$attach $times - -"
}

# bpftrace, with BPFTRACE_MAX_PROBES raised past its 2 002 probes (its default limit is 512). Its
# count of calls is printed every 200 ms (one interval probe more, a perf event: nothing next to
# the 2 000 uprobes), so that the round is checked while it traces: at the cap it is killed, and
# what it would print at exit is lost. It
# complains that it cannot raise RLIMIT_MEMLOCK (the kernel charges BPF memory to the cgroup
# instead): harmless, so its stderr is shown only when the run failed.
bpftrace_fn() {
  local out=$dir/bpftrace.out err=$dir/bpftrace.err start attaching attach pid ids times
  rm -f "$out" "$err"
  start_fixture
  prog_ids >"$dir/before"
  start=$(now_ms)
  BPFTRACE_MAX_PROBES=4000 bpftrace -e "BEGIN { printf(\"live\\n\"); }
    uprobe:$fixture:scale_fn_* { @start[tid] = nsecs; }
    uretprobe:$fixture:scale_fn_* /@start[tid]/ {
      @ns = hist(nsecs - @start[tid]); delete(@start[tid]); @calls = count(); }
    interval:ms:200 { print(@calls); }" \
    -p "$fixture_pid" >"$out" 2>"$err" {go_fd}>&- &
  pid=$!
  started+=("$pid")
  wait_for_line "$out" '^Attaching' "$pid" || { cat "$err" >&2; return 1; }
  attaching=$(($(now_ms) - start))
  wait_for_line "$out" '^live$' "$pid" || { cat "$err" >&2; return 1; }
  attach=$(($(now_ms) - start))
  prog_ids >"$dir/during"
  ids=$(new_ids "$dir/before" "$dir/during")
  go_round
  wait_for_line "$out" "^@calls: $fn_count\$" "$pid" || {
    echo "startup: bpftrace did not count $fn_count calls" >&2
    cat "$err" >&2
    return 1
  }
  times=$(stop "$pid" INT "$ids")
  local status=0
  # (no "Killed" notice from the shell when the cap made stop kill it)
  wait "$pid" 2>/dev/null || status=$?
  end_fixture
  # Exited by itself, before the cap: it must have exited 0.
  if [[ ${times%% *} -le $cap_ms ]] && ((status != 0)); then
    echo "startup: bpftrace exited $status" >&2
    cat "$out" "$err" >&2
    return 1
  fi
  result="$attach $times - $attaching"
}

# --node: 50 Python programs running sqlite3 queries in memory, started once (their start is not
# timed) and traced anew by each round's agent.
node_py='
import sqlite3, sys, time
db = sqlite3.connect(":memory:")
db.execute("create table t (k integer primary key, v text)")
print("ready", flush=True)
i = 0
while True:
    i += 1
    db.execute("insert or replace into t values (?, ?)", (i % 100, "x"))
    db.execute("select v from t where k = ?", (i % 100,)).fetchall()
    time.sleep(0.05)
'
start_node_targets() {
  local i p
  for ((i = 0; i < node_procs; i++)); do
    "$python" -I -c "$node_py" >"$dir/py$i.out" 2>&1 &
    p=$!
    started+=("$p")
    wait_for_line "$dir/py$i.out" '^ready$' "$p"
  done
}

free_port() {
  "$python" -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

agent_node() {
  local err=$dir/node.err jsonl=$dir/node-jsonl port start attach pid ids times rss events
  rm -rf "$err" "$jsonl"
  port=$(free_port)
  prog_ids >"$dir/before"
  start=$(now_ms)
  "$agent" --node --jsonl-dir "$jsonl" --prometheus "127.0.0.1:$port" >/dev/null 2>"$err" &
  pid=$!
  started+=("$pid")
  wait_for_line "$err" 'profilis-agent: tracing' "$pid"
  attach=$(($(now_ms) - start))
  prog_ids >"$dir/during"
  ids=$(new_ids "$dir/before" "$dir/during")
  # A moment of queries (each target runs 20 a second) and a scrape, as a node agent would see.
  sleep 2
  curl -sf "http://127.0.0.1:$port/metrics" >"$dir/metrics" ||
    { echo "startup: no /metrics from the --node agent" >&2; cat "$err" >&2; return 1; }
  rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  times=$(stop "$pid" TERM "$ids")
  wait "$pid" || { echo "startup: the --node agent failed" >&2; cat "$err" >&2; return 1; }
  events=$(cat "$jsonl"/*.jsonl 2>/dev/null | grep -c '"kind":"DB"' || true)
  if ((events == 0)); then
    echo "startup: the --node agent reported no DB event from $node_procs sqlite3 programs" >&2
    cat "$err" >&2
    return 1
  fi
  result="$attach $times $rss -"
}

# One line "ROUND CONFIG ATTACH EXIT DETACH RSS_KIB ATTACHING" per run.
record() {
  local config=$1
  shift
  result=
  "$@"
  [[ -n $result ]] || { echo "startup: $config gave no timing" >&2; exit 1; }
  echo "$r $config $result" >>"$dir/results"
  echo "round $r: $config attach/exit/detach ms, peak RSS KiB, bpftrace's 'Attaching' ms: $result" >&2
}

start_node_targets
: >"$dir/results"
for ((r = 1; r <= rounds; r++)); do
  record agent_fn agent_fn
  record bpftrace_fn bpftrace_fn
  record agent_node agent_node
  echo "round $r of $rounds done" >&2
done

awk -v rounds="$rounds" -v cap="$cap_ms" -v fns="$fn_count" -v procs="$node_procs" -f "$root/bench/stats.awk" -f <(
  cat <<'AWK'
  function ms(v) { return v > cap ? "> " cap : sprintf("%.0f", v) }
  # A ratio where either side passed the cap is a bound, not a figure.
  function ratio(a, b) {
    if (a > cap && b > cap) return "n/a"
    if (b > cap) return sprintf("< %.2gx", a / cap)
    if (a > cap) return sprintf("> %.1fx", cap / b)
    return b > 0 ? sprintf("%.3fx", a / b) : "n/a"
  }
  function verdict(ok) { return ok ? "PASS" : "FAIL" }
  {
    attach[$2] = attach[$2] " " $3; exit_[$2] = exit_[$2] " " $4; detach[$2] = detach[$2] " " $5
    rss[$2] = rss[$2] " " $6; attaching[$2] = attaching[$2] " " $7
  }
  END {
    split("agent_fn bpftrace_fn agent_node", names, " ")
    for (i = 1; i <= 3; i++) {
      c = names[i]; a[c] = median(attach[c]); e[c] = median(exit_[c]); d[c] = median(detach[c])
    }
    r = median(rss["agent_node"]); at = median(attaching["bpftrace_fn"])
    printf "\nmedians of %d rounds, ms (waits capped at %d ms)\n\n", rounds, cap
    printf "| row | tracer | attach ms | exit ms | detach ms | peak RSS |\n"
    printf "|---|---|---:|---:|---:|---:|\n"
    printf "| %d functions by one glob | `profilis-agent --fn` | %s | %s | %s | |\n", fns, ms(a["agent_fn"]), ms(e["agent_fn"]), ms(d["agent_fn"])
    printf "| | bpftrace uprobe + uretprobe, hist() | %s | %s | %s | |\n", ms(a["bpftrace_fn"]), ms(e["bpftrace_fn"]), ms(d["bpftrace_fn"])
    printf "| | agent / bpftrace | %s | %s | %s | |\n", ratio(a["agent_fn"], a["bpftrace_fn"]), ratio(e["agent_fn"], e["bpftrace_fn"]), ratio(d["agent_fn"], d["bpftrace_fn"])
    printf "| `--node`, %d processes, JSONL + Prometheus | `profilis-agent --node` (no bpftrace peer) | %s | %s | %s | %.1f MiB |\n", procs, ms(a["agent_node"]), ms(e["agent_node"]), ms(d["agent_node"]), r / 1024
    printf "\nbpftrace attach is to its BEGIN line, which comes once every probe is attached; its \"Attaching N probes...\" line came at %s ms.\n", ms(at)
    printf "--node has no bpftrace peer: bpftrace cannot follow every process of a node.\n\n"
    s = a["agent_fn"] + d["agent_fn"]
    printf "%s %d functions: attach + detach %s ms, goal < 1000 ms\n", verdict(s < 1000), fns, ms(s)
    printf "%s %d functions: exit %s ms after SIGTERM, goal < 1000 ms\n", verdict(e["agent_fn"] < 1000), fns, ms(e["agent_fn"])
    printf "%s --node: exit %s ms after SIGTERM, goal < 1000 ms\n", verdict(e["agent_node"] < 1000), ms(e["agent_node"])
    printf "%s --node: peak RSS %.1f MiB, goal < 64 MiB\n", verdict(r < 64 * 1024), r / 1024
  }
AWK
) "$dir/results"
