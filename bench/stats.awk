# Functions the benchmark scripts' reports share (awk -f bench/stats.awk -f PROGRAM).

# The median of the numbers in `list` (separated by spaces).
function median(list,    v, n, i, j, t) {
  n = split(list, v, " ")
  for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
    t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
  }
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# "LOW-HIGH" of the numbers in `list`, each with `decimals` decimals.
function range(list, decimals,    v, n, i, lo, hi, f) {
  n = split(list, v, " ")
  lo = hi = v[1]
  for (i = 2; i <= n; i++) { if (v[i] + 0 < lo + 0) lo = v[i]; if (v[i] + 0 > hi + 0) hi = v[i] }
  f = "%." decimals "f"
  return sprintf(f "-" f, lo, hi)
}
