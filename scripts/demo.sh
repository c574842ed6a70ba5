#!/usr/bin/env bash
# Installs, builds, starts the bundled demo service and traces it with the agent, all three sinks
# on: events on the console, in a JSONL directory, and as Prometheus metrics at
# http://127.0.0.1:${DEMO_METRICS_PORT:-9464}/metrics. Runs DEMO_SECONDS (default 20) or until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh "$root/build"

out=${DEMO_OUT:-$root/out/demo-jsonl}
seconds=${DEMO_SECONDS:-20}
port=${DEMO_METRICS_PORT:-9464}
"$root/build/demo/demo_service" >/dev/null &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
sleep 0.2

echo "demo: tracing demo_service (pid $demo) for ${seconds}s — Ctrl-C stops earlier"
echo "demo: events below (console), in $out/ (JSONL, rotated every 1 MB or 60 s)"
echo "demo: metrics: curl -s http://127.0.0.1:$port/metrics | grep profilis_"
set +e
"$root/build/profilis-agent" --pid "$demo" --fn demo::checksum --console --jsonl-dir "$out" \
  --jsonl-rotate-bytes 1000000 --jsonl-rotate-secs 60 --prometheus "127.0.0.1:$port" \
  --duration "$seconds"
status=$?
set -e
echo "demo: agent exited with $status; JSONL files:"
ls -l "$out"
exit $status
