#!/usr/bin/env bash
# Fuzzes the SQL normalizer with libFuzzer under ASan and UBSan for a bounded time.
# Usage: scripts/fuzz-sql-normalize.sh [SECONDS [BUILD_DIR]]   (defaults: 30, build/fuzz)
# Needs clang with libFuzzer (Debian: clang-14 and libclang-rt-14-dev). Exits nonzero on a crash,
# leaving the crashing input in BUILD_DIR/artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
build=${2:-$root/build/fuzz}
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}
if [[ -z "$cxx" ]]; then
  echo "fuzz-sql-normalize: no clang++ found (set CXX_FUZZ)" >&2
  exit 2
fi
mkdir -p "$build/corpus" "$build/artifacts"
"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$root" "$root/agent/pipeline/sql_normalize.cpp" "$root/tests/fuzz/sql_normalize_fuzz.cpp" \
  -o "$build/sql_normalize_fuzz"

# Seed corpus: a few realistic queries, covering each lexical form the normalizer knows.
seeds=(
  "SELECT * FROM users WHERE id = 42 AND name = 'bob''s' LIMIT 10"
  "UPDATE accounts SET balance = balance - 12.50, note = E'it\\'s' WHERE id IN (1, 2, 3)"
  "INSERT INTO t (a, \"b1\", \`c2\`) VALUES (\$1, ?, :name, %s, -3.5e-2, 0x1F, X'ff', TRUE)"
  "/* app /* nested */ */ SELECT \$\$body\$\$, \$tag\$ x \$tag\$ -- trailing 7
FROM t1 WHERE x NOT IN ('a', 'b') AND y = N'z' AND z IS NULL"
  "SELECT u.id, count(*) FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 GROUP BY u.id HAVING count(*) > 5 ORDER BY 2 DESC LIMIT 20 OFFSET 40"
  "SELECT * FROM t WHERE name = 'unterminated"
)
i=0
for seed in "${seeds[@]}"; do
  printf '%s' "$seed" >"$build/corpus/seed-$i.sql"
  i=$((i + 1))
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$build/sql_normalize_fuzz" -max_total_time="$seconds" -max_len=1024 -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" "$build/corpus"
