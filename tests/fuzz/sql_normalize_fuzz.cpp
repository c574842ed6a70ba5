// libFuzzer target for the SQL normalizer: run by scripts/fuzz.sh (clang only).
// libFuzzer hands over a buffer of exactly `size` bytes, so ASan reports any read past the input.
// Beyond crashes it checks the promises the unit tests rely on: the output is trimmed, within the
// size bound, and normalizing it again changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/pipeline/sql_normalize.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "sql_normalize_fuzz: %s: [%.*s]\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  static std::string out;  // reused, as on the agent's hot path
  profilis::normalize_sql(sql, out);
  if (out.size() > size + size / 4 + 1) fail("output longer than the bound", out);
  if (!out.empty() && (out.front() == ' ' || out.back() == ' ')) fail("output not trimmed", out);
  const std::string again = profilis::normalize_sql(out);
  if (again != out) fail("not idempotent", out);
  return 0;
}
