#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is needed, checks formatting, builds, runs
# unit and end-to-end tests and, once, the deploy/ checks (tests/deploy/run.sh: manifests, the
# image under podman, the dashboard against Prometheus), then builds and runs the tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer, and fuzzes the SQL normalizer, the config parser
# the USDT argument parser and the exit-instruction scan for a bounded time. End-to-end tests need root; with CI=true they
# fail instead of skipping.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
bash scripts/check-format.sh

echo "== build (RelWithDebInfo)"
bash scripts/build.sh "$root/build"
echo "== tests"
ctest --test-dir "$root/build" --output-on-failure --timeout 300
echo "== deploy checks (manifests, capabilities, the image under podman, the dashboard)"
bash tests/deploy/run.sh "$root/build"

echo "== build (ASan + UBSan)"
bash scripts/build.sh "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DPROFILIS_SANITIZE=ON -DPROFILIS_BENCH=OFF
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure --timeout 300
echo "== fuzzing the SQL normalizer, the config parser, the USDT argument parser and the exit-instruction scan (libFuzzer, ASan, UBSan)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}" "$root/build-fuzz"
echo "== all tests passed"
