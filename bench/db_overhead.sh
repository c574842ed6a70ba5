#!/usr/bin/env bash
# Cost of tracing a PostgreSQL client's queries, as ratios against peers run side by side, against
# a throwaway local PostgreSQL: pgbench select-only (the fastest queries there are, so the most
# tracing per second of work) and a client whose queries take ~2 ms each (bench/db_sleep_queries.py,
# closer to a real application's). Each runs untraced, traced by bpftrace with the cheapest program
# that times the same queries from the same probe points as the agent, and traced by the agent
# (libpq probes, JSONL sink). Also counts, in a short untimed run of each, the probe hits (BPF
# program runs) each tracer takes per query. Every configuration runs once per round, rounds
# interleaved, and medians are reported; a missed goal prints FAIL but is not an error. Prints a
# Markdown table. Needs root, bpftrace, bpftool, PostgreSQL's server binaries and pgbench, and
# Debian's python3 with psycopg2.
# Usage: bench/db_overhead.sh [BUILD_DIR (build)] [ROUNDS (5)] [SECONDS_PER_RUN (5)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-5}
seconds=${3:-5}
agent=$build/profilis-agent
bindir=${PROFILIS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
# Debian's interpreter, which has psycopg2 (a python3 earlier on PATH may not).
python=/usr/bin/python3
sleep_client=$root/bench/db_sleep_queries.py
# The runs that count probe hits are not timed: long enough for thousands of queries.
hit_seconds=2
[[ -x $agent ]] || { echo "db_overhead: $agent missing; build first" >&2; exit 1; }
for f in "$bindir/initdb" "$bindir/pg_ctl" "$bindir/pgbench" "$python"; do
  [[ -x $f ]] || { echo "db_overhead: $f missing" >&2; exit 1; }
done
for c in bpftrace bpftool; do
  command -v "$c" >/dev/null || { echo "db_overhead: $c not installed" >&2; exit 1; }
done
"$python" -c 'import psycopg2' 2>/dev/null ||
  { echo "db_overhead: $python has no psycopg2 (apt-get install python3-psycopg2)" >&2; exit 1; }

# The server on CPU 1, the clients on CPU 0: a backend woken on its client's CPU preempts it, and
# the two would take turns rather than overlap. The tracers are not pinned: both CPUs are busy with
# the measured work, so whatever a tracer does in user space (the agent writing its JSONL) costs
# throughput wherever it runs, which is its real cost.
server_cpu=1
client_cpu=0

dir=$(mktemp -d /tmp/profilis-db-bench.XXXXXX)
chown postgres "$dir"
port=$((20000 + RANDOM % 20000))
cleanup() {
  umount "$dir/bpffs" 2>/dev/null || true
  runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -A trust >/dev/null
runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
taskset -a -p -c "$server_cpu" "$(head -1 "$dir/data/postmaster.pid")" >/dev/null
taskset -c "$client_cpu" "$bindir/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -q -s 1 postgres \
  >/dev/null 2>&1

# A file system of our own to pin the tracers' programs in (see run): the host may have none mounted.
mkdir "$dir/bpffs"
mount -t bpf bpf "$dir/bpffs"

# client WORKLOAD SECONDS: the command line of a workload, into the array `client`.
client() {
  case $1 in
    pgbench) client=(taskset -c "$client_cpu" "$bindir/pgbench" -h 127.0.0.1 -p "$port" -U postgres
                     -n -S -c 2 -T "$2" postgres) ;;
    sleep) client=(taskset -c "$client_cpu" "$python" "$sleep_client" 127.0.0.1 "$port" "$2") ;;
  esac
}

# The libpq each workload loads, for bpftrace (the agent finds it by itself).
declare -A libpq
libpq[pgbench]=$(ldd "$bindir/pgbench" | awk '$1 ~ /^libpq\.so/ { print $3 }')
libpq[sleep]=$(ldd "$("$python" -c 'import psycopg2._psycopg as m; print(m.__file__)')" |
  awk '$1 ~ /^libpq\.so/ { print $3 }')

# The bpftrace program for a libpq: the agent's probe points (a uprobe and a uretprobe on each of
# these functions the library has, as agent/targets/db_targets.cpp lists them) with the least work
# that still times each query as the agent does (bpf/db/libpq.bpf.h), into a hist():
# - PQexec, PQexecParams, PQprepare, PQexecPrepared are timed from entry to return, per thread (a
#   synchronous call blocks its thread). They call PQsendQuery (and the like) and PQgetResult
#   inside: while one runs, the thread's other probes do nothing, as the agent counts them as
#   nested and ignores them.
# - A PQsend* starts a query on its connection (arg0), which ends at the PQgetResult that returns
#   NULL. Keyed by connection, not thread: pgbench's one thread runs both its clients' connections
#   at once. A uretprobe has no arguments, so PQgetResult's entry notes its connection per thread.
# - PQfinish forgets its connection's query, as the agent does.
# - The uretprobes on PQsend* and PQfinish do nothing: the agent has them (to see whether the send
#   failed), so bpftrace pays for the same hits.
# It does less than the agent per query: no SQL text, no rows or error status, no event out of the
# kernel. BEGIN prints "ready": bpftrace reads its output only once every probe is attached.
functions=(PQexec PQexecParams PQprepare PQexecPrepared PQsendQuery PQsendQueryParams PQsendPrepare
           PQsendQueryPrepared PQgetResult PQfinish)
bpftrace_program() {
  local lib=$1 f sync=() send=() finish=() get=()
  local have
  have=$(bpftrace -l "uprobe:$lib:PQ*" 2>/dev/null)
  for f in "${functions[@]}"; do
    grep -qx "uprobe:$lib:$f" <<<"$have" || continue
    case $f in
      PQexec | PQexecParams | PQprepare | PQexecPrepared) sync+=("$lib:$f") ;;
      PQgetResult) get+=("$lib:$f") ;;
      PQfinish) finish+=("$lib:$f") ;;
      *) send+=("$lib:$f") ;;
    esac
  done
  # probes KIND NAME...: "KIND:NAME, KIND:NAME"
  probes() { local kind=$1; shift; local IFS=,; printf '%s' "${*/#/$kind:}"; }
  printf '%s\n' 'BEGIN { printf("ready\n"); }'
  if ((${#sync[@]})); then
    echo "$(probes uprobe "${sync[@]}") { @sync[tid] = nsecs; }"
    echo "$(probes uretprobe "${sync[@]}") /@sync[tid]/ {"
    echo '  @ns = hist(nsecs - @sync[tid]); delete(@sync[tid]); }'
  fi
  if ((${#send[@]})); then
    echo "$(probes uprobe "${send[@]}") /!@sync[tid]/ { @start[arg0] = nsecs; }"
    echo "$(probes uretprobe "${send[@]}") {}"
  fi
  # shellcheck disable=SC2016 # $c is bpftrace's variable, not the shell's
  if ((${#get[@]})); then
    echo "$(probes uprobe "${get[@]}") /!@sync[tid]/ { @conn[tid] = arg0; }"
    echo "$(probes uretprobe "${get[@]}") /retval == 0 && !@sync[tid]/ {"
    echo '  $c = @conn[tid];'
    echo '  if (@start[$c]) { @ns = hist(nsecs - @start[$c]); delete(@start[$c]); } }'
  fi
  if ((${#finish[@]})); then
    echo "$(probes uprobe "${finish[@]}") { delete(@start[arg0]); }"
    echo "$(probes uretprobe "${finish[@]}") {}"
  fi
  # Only the histogram is wanted at exit.
  echo 'END { clear(@sync); clear(@start); clear(@conn); }'
}
for w in pgbench sleep; do
  [[ -n ${libpq[$w]} ]] || { echo "db_overhead: no libpq found for $w" >&2; exit 1; }
  bpftrace_program "${libpq[$w]}" >"$dir/$w.bt"
done

# tracer_programs PID: the ids of the uprobe programs (type kprobe, 2) a process holds, from its
# file descriptors. The agent's tracepoints on process exec, fork and exit are left out: they fire
# for every process on the host, not per query.
tracer_programs() {
  local f
  for f in /proc/"$1"/fdinfo/*; do
    awk '/^prog_type:/ { t = $2 } /^prog_id:/ { id = $2 } END { if (t == 2) print id }' "$f" \
      2>/dev/null || true
  done | sort -u
}

# Keeps the kernel counting BPF program runs for as long as its standard input is open, with a file
# descriptor of BPF_ENABLE_STATS (the kernel counts while any is open) rather than by setting
# kernel.bpf_stats_enabled: that sysctl is one switch for the whole host, which another user may
# turn off in the middle of a run (one did while this was written), and would have to be restored
# after a failure.
# Prints "on" once counting.
stats_on='
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(8)  # union bpf_attr: enable_stats.type = BPF_STATS_RUN_TIME (0)
fd = libc.syscall(321, 32, attr, 8)  # __NR_bpf on x86-64, BPF_ENABLE_STATS
if fd < 0:
    sys.exit("BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
print("on", flush=True)
sys.stdin.read()
'

# run_count ID...: the sum of the programs' run_cnt.
run_count() {
  local id n total=0
  for id in "$@"; do
    n=$(bpftool prog show id "$id" | sed -n 's/.* run_cnt \([0-9]*\).*/\1/p')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# run WORKLOAD TRACER SECONDS COUNT_HITS: prints "RATE QUERIES HITS" (HITS 0 unless COUNT_HITS is
# 1). The client waits behind a fifo until the tracer has attached. Each tracer's timing of the
# queries is checked to hold every query the client made, so that a run whose probes did not fire
# is an error rather than a suspiciously cheap result. With COUNT_HITS, the kernel counts each
# tracer program's runs (see stats_on; counting costs a little itself, so these runs are not the
# timed ones); the programs are pinned so that their counts outlive a tracer that exits with its
# client.
run() {
  local workload=$1 tracer=$2 secs=$3 count_hits=$4
  local fifo=$dir/go out=$dir/client.out err=$dir/tracer.err tracer_out=$dir/tracer.out
  rm -rf "$fifo" "$out" "$err" "$tracer_out" "$dir/jsonl" "$dir"/bpffs/prog_*
  mkfifo "$fifo"
  client "$workload" "$secs"
  sh -c 'read line < "$0"; exec "$@"' "$fifo" "${client[@]}" >"$out" 2>"$dir/client.err" &
  local client_pid=$! tracer_pid=
  case $tracer in
    bpftrace)
      # It complains that it cannot raise RLIMIT_MEMLOCK (not needed on this kernel): harmless, so
      # its stderr is shown only when the run failed.
      bpftrace -p "$client_pid" "$dir/$workload.bt" >"$tracer_out" 2>"$err" &
      tracer_pid=$!
      wait_for_tracer "$tracer_pid" "$tracer_out" '^ready$' "$err" "$client_pid"
      ;;
    agent)
      "$agent" --pid "$client_pid" --db postgresql --jsonl-dir "$dir/jsonl" \
        --jsonl-rotate-bytes 0 >/dev/null 2>"$err" &
      tracer_pid=$!
      wait_for_agent "$tracer_pid" "$err" "$client_pid"
      ;;
  esac
  local ids=() before=0 hits=0 stats
  if ((count_hits)); then
    mapfile -t ids < <(tracer_programs "$tracer_pid")
    ((${#ids[@]})) || { echo "db_overhead: no uprobe programs found in $tracer" >&2; exit 1; }
    local id
    for id in "${ids[@]}"; do bpftool prog pin id "$id" "$dir/bpffs/prog_$id"; done
    # Its stdin is this pipe, closed when the client is done, or when this subshell exits.
    rm -f "$dir/stats.out"
    exec {stats}> >("$python" -c "$stats_on" >"$dir/stats.out" 2>&1)
    until [[ -s $dir/stats.out ]]; do sleep 0.05; done
    grep -qx on "$dir/stats.out" || { cat "$dir/stats.out" >&2; exit 1; }
    before=$(run_count "${ids[@]}")
  fi
  echo go >"$fifo"
  if ! wait "$client_pid"; then
    echo "db_overhead: $workload failed ($tracer)" >&2
    cat "$dir/client.err" >&2
    exit 1
  fi
  if ((count_hits)); then
    exec {stats}>&-
    # Before bpftrace is stopped: its END probe would count.
    hits=$(($(run_count "${ids[@]}") - before))
    rm -f "$dir"/bpffs/prog_*
  fi
  local rate queries timed
  case $workload in
    pgbench)
      rate=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
      queries=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
      ;;
    sleep) read -r _ queries _ _ _ rate <"$out" ;;
  esac
  case $tracer in
    untraced) timed=$queries ;;
    bpftrace)
      # bpftrace stays attached after its client exits; SIGINT prints the histogram.
      kill -INT "$tracer_pid"
      wait "$tracer_pid" || { cat "$err" >&2; exit 1; }
      # The counts of the histogram's buckets: "[64K, 128K)   3266 |@@@@   |"
      timed=$(awk '/^\[/ { sub(/ *\|.*/, ""); n += $NF } END { print n + 0 }' "$tracer_out")
      ;;
    agent)
      wait "$tracer_pid" || { cat "$err" >&2; exit 1; }
      timed=$(cat "$dir"/jsonl/*.jsonl 2>/dev/null | grep -c '"kind":"DB"' || true)
      ;;
  esac
  if [[ -z $rate || -z $queries ]] || ((queries == 0)); then
    echo "db_overhead: $workload ($tracer) printed no result" >&2
    cat "$out" "$dir/client.err" >&2
    exit 1
  fi
  # A few more are fine: the clients' set-up queries (pgbench's, after the fifo) are timed too.
  if ((timed < queries)); then
    echo "db_overhead: $tracer timed $timed queries of the $queries $workload made" >&2
    cat "$err" >&2
    exit 1
  fi
  echo "$rate $queries $hits"
}

# The probe hits per query, before the timed rounds (and a first check that every tracer's probes
# fire): one line "WORKLOAD TRACER HITS QUERIES" each.
for w in pgbench sleep; do
  for t in bpftrace agent; do
    read -r _ q h < <(run "$w" "$t" "$hit_seconds" 1)
    [[ -n ${h:-} ]] || exit 1
    echo "$w $t $h $q" >>"$dir/hits"
  done
done

# One line "ROUND WORKLOAD TRACER RATE" per run.
: >"$dir/results"
for ((r = 1; r <= rounds; r++)); do
  line="round $r:"
  for w in pgbench sleep; do
    line+=" $w"
    for t in untraced bpftrace agent; do
      res=$(run "$w" "$t" "$seconds" 0)
      [[ -n $res ]] || exit 1
      read -r rate _ <<<"$res"
      echo "$r $w $t $rate" >>"$dir/results"
      printf -v line '%s %s %.1f' "$line" "$t" "$rate"
    done
    line+=";"
  done
  echo "${line%;}"
done

awk -v rounds="$rounds" -v seconds="$seconds" -v hits_file="$dir/hits" -v hit_seconds="$hit_seconds" -f "$root/bench/stats.awk" -f <(
  cat <<'AWK'
  function verdict(ok) { return ok ? "PASS" : "FAIL" }
  { rate[$2, $3] = rate[$2, $3] " " $4; at[$1, $2, $3] = $4 }
  END {
    label["pgbench"] = "pgbench -S TPS"
    label["sleep"] = "2 ms script queries/s"
    short["pgbench"] = "pgbench -S:"
    short["sleep"] = "2 ms script:"
    printf "\n%d s per run, medians of %d rounds (range of the ratio within each round in brackets)\n\n", seconds, rounds
    printf "| workload | untraced | bpftrace | agent | agent/bpftrace | agent/untraced |\n"
    printf "|---|---:|---:|---:|---:|---:|\n"
    split("pgbench sleep", ws, " ")
    for (i = 1; i <= 2; i++) {
      w = ws[i]
      u = median(rate[w, "untraced"]); b = median(rate[w, "bpftrace"]); a = median(rate[w, "agent"])
      ab[w] = a / b; au[w] = a / u
      rab = rau = ""
      for (r = 1; r <= rounds; r++) {
        rab = rab " " at[r, w, "agent"] / at[r, w, "bpftrace"]
        rau = rau " " at[r, w, "agent"] / at[r, w, "untraced"]
      }
      printf "| %s | %.1f | %.1f | %.1f | %.3fx (%s) | %.3fx (%s) |\n", label[w], u, b, a, ab[w],
        range(rab, 3), au[w], range(rau, 3)
    }
    while ((getline line < hits_file) > 0) {
      split(line, f, " ")
      per[f[1], f[2]] = sprintf("%.2f (%d hits / %d queries)", f[3] / f[4], f[3], f[4])
    }
    printf "\nprobe hits (BPF program runs) per query, untimed %d s runs:\n", hit_seconds
    for (i = 1; i <= 2; i++) {
      printf "  %-13s agent %s, bpftrace %s\n", short[ws[i]], per[ws[i], "agent"], per[ws[i], "bpftrace"]
    }
    printf "\n%s pgbench -S: agent %.3fx bpftrace TPS, goal >= 0.97x\n", verdict(ab["pgbench"] >= 0.97), ab["pgbench"]
    printf "%s 2 ms script: agent %.3fx untraced queries/s, goal >= 0.95x\n", verdict(au["sleep"] >= 0.95), au["sleep"]
  }
AWK
) "$dir/results"
