// libFuzzer target for the SQL normalizer: run by scripts/fuzz.sh (clang only).
// libFuzzer hands over a buffer of exactly `size` bytes, so ASan reports any read past the input.
// Beyond crashes it checks the promises the unit tests rely on: the output is trimmed, within the
// size bound, and normalizing it again changes nothing; and one shape has one text: where the text
// holds no quote, comment or dollar sign (whose insides spaces would change), respacing it where
// the rule says (before `,` `)` `;`, after `(` `,`) or putting a comment where it has a space gives
// the same output.
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

// `sql` with the spaces the normalizer's rule covers changed — before `,` `)` `;`, after `(` and
// `,` — all removed (`tight`) or one added at each of those places; and every space turned into a
// comment.
std::string respaced(std::string_view sql, bool tight) {
  std::string out;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    const bool space_before = c == ',' || c == ')' || c == ';';
    const bool space_after = c == ',' || c == '(';
    if (!space_before && !space_after) {
      out += c;
      continue;
    }
    if (space_before) {
      if (tight) {
        while (!out.empty() && out.back() == ' ') out.pop_back();
      } else {
        out += ' ';
      }
    }
    out += c;
    if (space_after) {
      if (tight) {
        while (i + 1 < sql.size() && sql[i + 1] == ' ') ++i;
      } else {
        out += ' ';
      }
    }
  }
  return out;
}

std::string commented(std::string_view sql) {
  std::string out;
  for (const char c : sql) out += c == ' ' ? std::string(" /* c */ ") : std::string(1, c);
  return out;
}

bool plain(std::string_view sql) {
  for (const char c : sql) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || byte < 0x20 || c == '\'' || c == '"' || c == '`' || c == '$' || c == '-' ||
        c == '/' || c == '*' || c == '#' || c == '\\' || c == '[' || c == ']') {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  static std::string out;  // reused, as on the agent's hot path
  profilis::normalize_sql(sql, out);
  if (out.size() > size + size / 2 + 1) fail("output longer than the bound", out);
  if (!out.empty() && (out.front() == ' ' || out.back() == ' ')) fail("output not trimmed", out);
  const std::string again = profilis::normalize_sql(out);
  if (again != out) fail("not idempotent", out);
  if (plain(sql)) {
    if (profilis::normalize_sql(respaced(sql, true)) != out) fail("tight respacing differs", sql);
    if (profilis::normalize_sql(respaced(sql, false)) != out) fail("loose respacing differs", sql);
    if (profilis::normalize_sql(commented(sql)) != out) fail("a comment for a space differs", sql);
  }
  return 0;
}
