#!/usr/bin/env bash
# Fuzzes with libFuzzer under ASan and UBSan, each target for a bounded time: the SQL normalizer
# (tests/fuzz/sql_normalize_fuzz.cpp), the --config parser (tests/fuzz/config_fuzz.cpp), the
# USDT note argument parser (tests/fuzz/usdt_arguments_fuzz.cpp) and the exit-instruction scan of
# function code (tests/fuzz/exit_instructions_fuzz.cpp).
# Usage: scripts/fuzz.sh [SECONDS_EACH [BUILD_DIR [TARGET...]]]
#   defaults: 20 seconds, build/fuzz, every target (sql_normalize config usdt_arguments
#   exit_instructions)
# Needs clang with libFuzzer (Debian: clang-14 and libclang-rt-14-dev). Exits nonzero on a crash,
# leaving the crashing input in BUILD_DIR/TARGET/artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build=${2:-$root/build/fuzz}
targets=("${@:3}")
[[ ${#targets[@]} -gt 0 ]] || targets=(sql_normalize config usdt_arguments exit_instructions)
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}
if [[ -z "$cxx" ]]; then
  echo "fuzz: no clang++ found (set CXX_FUZZ)" >&2
  exit 2
fi

# Per target: the sources to fuzz (with coverage), support sources it links without coverage, the
# longest input, and the seeds (one per line).
sql_normalize_sources=(agent/pipeline/sql_normalize.cpp tests/fuzz/sql_normalize_fuzz.cpp)
sql_normalize_support=()
sql_normalize_libs=()
sql_normalize_max_len=1024
# Seeds: a few realistic queries, covering each lexical form the normalizer knows.
sql_normalize_seeds() {
  local seeds=(
    "SELECT * FROM users WHERE id = 42 AND name = 'bob''s' LIMIT 10"
    "UPDATE accounts SET balance = balance - 12.50, note = E'it\\'s' WHERE id IN (1, 2, 3)"
    "INSERT INTO t (a, \"b1\", \`c2\`) VALUES (\$1, ?, :name, %s, -3.5e-2, 0x1F, X'ff', TRUE)"
    "/* app /* nested */ */ SELECT \$\$body\$\$, \$tag\$ x \$tag\$ -- trailing 7
FROM t1 WHERE x NOT IN ('a', 'b') AND y = N'z' AND z IS NULL"
    "SELECT u.id, count(*) FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 GROUP BY u.id HAVING count(*) > 5 ORDER BY 2 DESC LIMIT 20 OFFSET 40"
    "SELECT * FROM t WHERE name = 'unterminated"
  )
  printf '%s\n' "${seeds[@]}"
}

# The config parser, the option table and every value parser. usdt_targets.cpp and
# python_targets.cpp and return_probes.cpp only for parse_usdt_spec, parse_python_fn_spec and
# parse_return_choice (glob.cpp for its collapse_stars): without coverage tables referring to every function, the linker drops their
# target resolution (never called here) with its sections, and with it the need for all of
# agent/inspect.
config_sources=(agent/app/config_json.cpp agent/app/config_file.cpp agent/app/option_merge.cpp
  agent/app/option_table.cpp agent/app/option_values.cpp agent/common/db_types.cpp
  agent/common/edit_distance.cpp agent/common/errors.cpp exporters/prometheus/metric_labels.cpp
  tests/fuzz/config_fuzz.cpp)
config_support=(agent/targets/usdt_targets.cpp agent/targets/python_targets.cpp
  agent/targets/return_probes.cpp agent/common/glob.cpp)
config_libs=()
config_max_len=4096
# Seeds: every key with a valid value, the README's example, and the shapes the reader handles.
config_seeds() {
  cat <<'SEEDS'
{"pid": [42, 43], "fn": ["api::*", "libc.so.6:malloc"], "usdt": "python:gc__start,gc__done", "python-fn": ["app.py:handle_*", "do_GET"], "db": "postgresql,sqlite", "sql-text": "raw", "sql-max-bytes": 512, "min-duration": "250us", "console": "pretty", "jsonl-dir": "/var/log/profilis", "jsonl-prefix": "p", "jsonl-rotate-bytes": 1000, "jsonl-rotate-secs": "5m", "prometheus": ":9464", "service": "s", "instance": "i", "worker": "w", "ring-buffer-size": "64M", "queue-size": 100, "batch-max": 10, "flush-interval": 20, "sink-timeout": "2s", "duration": 1.5, "verbose": true}
{"pid": [4242], "fn": ["api::*"], "jsonl-dir": "/var/log/profilis", "console": true, "prometheus": "127.0.0.1:9464", "duration": "10m"}
{"node": true, "binary": ["/usr/lib/libpq.so.5"], "include-comm": ["python*", "p?sql"], "exclude-comm": "psql", "include-container": "8d6c*", "metric-labels": "k8s_namespace,k8s_pod"}
{"pid": 99999999999999999999999, "queue-size": -1, "duration": "1e3s", "jsonl_dir": 5}
{"pid": [1, [2, {"a": null}]], "console": false, "fn": [], "help": true}
SEEDS
}

# The USDT note argument parser: what a note of any file a process maps may say.
usdt_arguments_sources=(agent/inspect/usdt_arguments.cpp tests/fuzz/usdt_arguments_fuzz.cpp)
usdt_arguments_support=()
usdt_arguments_libs=()
usdt_arguments_max_len=512
# Seeds: the forms GCC writes on x86-64 (from python3.11 and postgres notes), and refused ones.
usdt_arguments_seeds() {
  cat <<'SEEDS'
8@%rbp 8@%r12 -4@%eax
-4@%edi 8@-8(%rbp) 4@16(%rsp) -4@$-5 2@%ax 1@%dil
8@-144(%rbp) -1@%sil 8@(%rdi) %rdi -8(%rbp) 4@$0x10
-8@40+CheckpointStats(%rip) 8@%fs:40 8@(%rax,%rbx,8)
1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al
SEEDS
}

# The exit-instruction scan: the code bytes of any function --fn names (decoded by Zydis).
exit_instructions_sources=(agent/inspect/exit_instructions.cpp tests/fuzz/exit_instructions_fuzz.cpp)
exit_instructions_support=()
exit_instructions_libs=(-lZydis)
exit_instructions_max_len=4096
# Seeds (hex): a frame and a call, a conditional tail call, Go's prologue with its restart jump, a
# jump table.
exit_instructions_seeds() {
  local seeds=(
    "00554889e5e800000000 5dc3"
    "0085ff0f85f50f0000b807000000c3"
    "014c8d6424604d3b66107605c3e8000000 00e9e8ffffff"
    "0048 8d05f90f0000ffe0c3"
  )
  printf '%s\n' "${seeds[@]}"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for target in "${targets[@]}"; do
  echo "== fuzzing $target for ${seconds}s"
  dir=$build/$target
  mkdir -p "$dir/corpus" "$dir/artifacts"
  sanitize=(-std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
    -I"$root" -I"$root/bpf")
  objects=()
  support_var="${target}_support[@]"
  for source in "${!support_var}"; do
    objects+=("$dir/$(basename "$source" .cpp).o")
    "$cxx" "${sanitize[@]}" -ffunction-sections -fdata-sections -c "$root/$source" \
      -o "${objects[-1]}"
  done
  sources_var="${target}_sources[@]"
  for source in "${!sources_var}"; do objects+=("$root/$source"); done
  libs_var="${target}_libs[@]"
  "$cxx" "${sanitize[@]}" -fsanitize=fuzzer -Wl,--gc-sections "${objects[@]}" "${!libs_var}" \
    -o "$dir/${target}_fuzz"
  i=0
  while IFS= read -r seed; do
    if [[ $target == exit_instructions ]]; then
      # Hex seeds: code is bytes, not text.
      hex=${seed// /}
      printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" >"$dir/corpus/seed-$i"
    else
      printf '%s' "$seed" >"$dir/corpus/seed-$i"
    fi
    i=$((i + 1))
  done < <("${target}_seeds")
  max_len_var="${target}_max_len"
  "$dir/${target}_fuzz" -max_total_time="$seconds" -max_len="${!max_len_var}" \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus"
done
