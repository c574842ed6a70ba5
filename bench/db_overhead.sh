#!/usr/bin/env bash
# Added latency per traced query, as a ratio: pgbench select-only against a throwaway PostgreSQL,
# run untraced and then traced by the agent (libpq probes, JSONL sink), alternating ROUNDS times so
# both see the same machine. Prints each run and the mean latency ratio. Needs root and a build.
# Usage: bench/db_overhead.sh [SECONDS_PER_RUN (5)] [ROUNDS (3)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
agent=$root/build/profilis-agent
bindir=${PROFILIS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
seconds=${1:-5}
rounds=${2:-3}

dir=$(mktemp -d /tmp/profilis-db-bench.XXXXXX)
chown postgres "$dir"
port=$((20000 + RANDOM % 20000))
cleanup() {
  runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -A trust >/dev/null
runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
# The server on CPU 1, pgbench on CPU 0: a backend woken on pgbench's CPU preempts it, the reply is
# there before pgbench first looks, and its lazy clock then times the statement as 0.
taskset -a -p -c 1 "$(head -1 "$dir/data/postmaster.pid")" >/dev/null
pgbench=(taskset -c 0 "$bindir/pgbench" -h 127.0.0.1 -p "$port" -U postgres)
"${pgbench[@]}" -i -q -s 1 postgres >/dev/null 2>&1
run=("${pgbench[@]}" -n -S -c 2 -T "$seconds" postgres)

# Mean time per transaction from the throughput (2 clients / tps): pgbench's own "latency average"
# reads its clock lazily and times early replies as 0, so it is not used.
latency() {
  local tps
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')
  echo "2000 / $tps" | bc -l
}

untraced() { "${run[@]}" 2>/dev/null | latency; }

traced() {
  local fifo=$dir/go out=$dir/traced.out
  mkfifo "$fifo"
  sh -c 'read line < "$0"; exec "$@"' "$fifo" "${run[@]}" >"$out" 2>/dev/null &
  local bench=$!
  "$agent" --pid "$bench" --db postgresql --jsonl-dir "$dir/jsonl" --jsonl-rotate-bytes 0 \
    2>"$dir/agent.err" &
  local agent_pid=$!
  until grep -q 'profilis-agent: tracing' "$dir/agent.err"; do sleep 0.1; done
  echo go >"$fifo"
  wait "$bench"
  wait "$agent_pid"
  rm -f "$fifo"
  rm -rf "$dir/jsonl"
  latency <"$out"
}

total_untraced=0 total_traced=0
for ((i = 1; i <= rounds; i++)); do
  u=$(untraced)
  t=$(traced)
  printf 'round %d: time per transaction untraced %.4f ms, traced %.4f ms\n' "$i" "$u" "$t"
  total_untraced=$(echo "$total_untraced + $u" | bc -l)
  total_traced=$(echo "$total_traced + $t" | bc -l)
done
mean_u=$(echo "$total_untraced / $rounds" | bc -l)
mean_t=$(echo "$total_traced / $rounds" | bc -l)
printf 'mean latency per transaction: untraced %.4f ms, traced %.4f ms, ratio %.2fx (+%.1f us)\n' \
  "$mean_u" "$mean_t" "$(echo "$mean_t / $mean_u" | bc -l)" "$(echo "($mean_t - $mean_u) * 1000" | bc -l)"
