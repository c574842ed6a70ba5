// libFuzzer target for the USDT note argument parser: run by scripts/fuzz.sh (clang only).
// Notes come from any file a traced process maps, so the parser must take any bytes. Beyond
// crashes it checks what the spec table relies on: a parse is all or nothing, gives one argument
// per whitespace-separated word, at most kMaxUsdtArguments, each one bpf_usdt_arg can read.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "agent/inspect/usdt_arguments.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "usdt_arguments_fuzz: %s: [%.*s]\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

std::size_t words(std::string_view text) {
  std::size_t count = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++count;
    in_word = !space;
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const profilis::UsdtArguments parsed = profilis::parse_usdt_arguments(text);
  if (!parsed.ok()) {
    if (!parsed.arguments.empty()) fail("arguments along with an error", text);
    if (parsed.error.rfind("unsupported USDT argument '", 0) != 0) fail("error unnamed", text);
    return 0;
  }
  if (parsed.arguments.size() != words(text)) fail("not one argument per word", text);
  if (parsed.arguments.size() > profilis::kMaxUsdtArguments) fail("too many arguments", text);
  for (const auto& argument : parsed.arguments) {
    if (!profilis::is_consistent(argument)) fail("inconsistent argument", text);
  }
  return 0;
}
