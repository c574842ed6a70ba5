// libFuzzer target for the exit-instruction scan: run by scripts/fuzz.sh (clang only). The bytes
// are any function's code the agent may be asked to probe, so the scan must take any bytes. Beyond
// crashes it checks what the probes rely on: every exit and restart lies on an instruction inside
// the function, each with a condition the kernel side knows, a tail jump's target outside it, and
// an uncertain scan gives no exits to probe by mistake being "certain".
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "agent/inspect/exit_instructions.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "exit_instructions_fuzz: %s\n", what);
  std::abort();
}

bool known_condition(std::uint32_t condition) {
  return condition == PROFILIS_EXIT_ALWAYS || condition == PROFILIS_EXIT_IF_RCX_ZERO ||
         condition == PROFILIS_EXIT_IF_ECX_ZERO ||
         (condition >= PROFILIS_EXIT_IF_CC && condition < PROFILIS_EXIT_IF_CC + 16);
}

}  // namespace

// Input: one control byte (bit 0: Go's rule for jumps to the entry; bits 1-7: where a cold part
// starts, in eighths of the rest), then the code.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool go = data[0] & 1;
  const std::span<const std::uint8_t> code(data + 1, size - 1);
  const std::size_t split = code.size() * ((data[0] >> 1) % 8) / 8;
  constexpr std::uint64_t kBody = 0x401000, kCold = 0x409000, kOther = 0x402000;
  std::vector<profilis::CodePart> parts = {{kBody, code.subspan(0, split ? split : code.size())}};
  if (split) parts.push_back({kCold, code.subspan(split)});
  const profilis::ExitRules rules = {
      .is_function_start = [](std::uint64_t at) { return at == kOther || at % 0x100 == 0; },
      .own_entry_jump_is_exit = !go};
  const profilis::ExitInstructions found = profilis::find_exit_instructions(parts, rules);
  if (!found.uncertain.empty()) return 0;
  const auto inside = [&](std::uint64_t at) {
    for (const auto& part : parts) {
      if (at >= part.address && at - part.address < part.bytes.size()) return true;
    }
    return false;
  };
  for (const auto& exit : found.exits) {
    if (!inside(exit.address)) fail("an exit outside the function");
    if (!known_condition(exit.condition)) fail("an exit with an unknown condition");
    if (exit.target != 0 && exit.target != kBody && inside(exit.target)) {
      fail("a tail jump into the function itself");
    }
  }
  for (const auto& restart : found.restarts) {
    if (!go) fail("a restart where jumps to the entry are exits");
    if (!inside(restart.address) || restart.target != kBody) fail("a restart elsewhere");
  }
  if (found.tail_jumps > found.exits.size()) fail("more tail jumps than exits");
  return 0;
}
