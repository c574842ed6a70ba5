#!/usr/bin/env bash
# Installs, builds, starts the bundled demo service and traces it with the agent: events on the
# console and in a JSONL directory. Runs DEMO_SECONDS (default 20) or until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh "$root/build"

out=${DEMO_OUT:-$root/out/demo-jsonl}
seconds=${DEMO_SECONDS:-20}
"$root/build/demo/demo_service" >/dev/null &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
sleep 0.2

echo "demo: tracing demo_service (pid $demo) for ${seconds}s — Ctrl-C stops earlier"
echo "demo: events below (console) and in $out/ (JSONL)"
set +e
"$root/build/profilis-agent" --pid "$demo" --fn 'demo::*' --console --jsonl-dir "$out" \
  --duration "$seconds"
status=$?
set -e
echo "demo: agent exited with $status; JSONL files:"
ls -l "$out"
exit $status
