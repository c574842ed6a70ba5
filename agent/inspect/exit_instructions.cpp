#include "agent/inspect/exit_instructions.h"

#include <Zydis/Zydis.h>

#include <map>
#include <optional>
#include <set>

#include "agent/common/hex.h"

namespace profilis {
namespace {

bool inside(const std::vector<CodePart>& parts, std::uint64_t address) {
  for (const CodePart& part : parts) {
    if (address >= part.address && address - part.address < part.bytes.size()) return true;
  }
  return false;
}

// The profilis_exit_condition of a branch, or nullopt for one whose taking the kernel side cannot
// tell before it runs (loop, loope, loopne decrement rcx first).
std::optional<std::uint32_t> condition_of(ZydisMnemonic mnemonic) {
  static const std::map<ZydisMnemonic, std::uint32_t> codes = {
      {ZYDIS_MNEMONIC_JO, 0},   {ZYDIS_MNEMONIC_JNO, 1},  {ZYDIS_MNEMONIC_JB, 2},
      {ZYDIS_MNEMONIC_JNB, 3},  {ZYDIS_MNEMONIC_JZ, 4},   {ZYDIS_MNEMONIC_JNZ, 5},
      {ZYDIS_MNEMONIC_JBE, 6},  {ZYDIS_MNEMONIC_JNBE, 7}, {ZYDIS_MNEMONIC_JS, 8},
      {ZYDIS_MNEMONIC_JNS, 9},  {ZYDIS_MNEMONIC_JP, 10},  {ZYDIS_MNEMONIC_JNP, 11},
      {ZYDIS_MNEMONIC_JL, 12},  {ZYDIS_MNEMONIC_JNL, 13}, {ZYDIS_MNEMONIC_JLE, 14},
      {ZYDIS_MNEMONIC_JNLE, 15}};
  if (mnemonic == ZYDIS_MNEMONIC_JMP || mnemonic == ZYDIS_MNEMONIC_RET) return PROFILIS_EXIT_ALWAYS;
  if (mnemonic == ZYDIS_MNEMONIC_JRCXZ) return PROFILIS_EXIT_IF_RCX_ZERO;
  if (mnemonic == ZYDIS_MNEMONIC_JECXZ) return PROFILIS_EXIT_IF_ECX_ZERO;
  const auto code = codes.find(mnemonic);
  if (code == codes.end()) return std::nullopt;
  return PROFILIS_EXIT_IF_CC + code->second;
}

struct Jump {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
};

}  // namespace

ExitInstructions find_exit_instructions(const std::vector<CodePart>& parts,
                                        const ExitRules& rules) {
  ExitInstructions found;
  if (parts.empty() || parts.front().bytes.empty()) {
    found.uncertain = "it has no code (size 0)";
    return found;
  }
  const std::uint64_t entry = parts.front().address;
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::set<std::uint64_t> boundaries;
  std::vector<Jump> inner_jumps;
  for (const CodePart& part : parts) {
    std::size_t at = 0;
    while (at < part.bytes.size()) {
      const std::uint64_t address = part.address + at;
      ZydisDecodedInstruction insn;
      ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, part.bytes.data() + at,
                                               part.bytes.size() - at, &insn, operands))) {
        found.uncertain = "bytes at " + hex(address) + " do not decode as an instruction";
        return found;
      }
      boundaries.insert(address);
      at += insn.length;
      const auto category = insn.meta.category;
      if (insn.mnemonic == ZYDIS_MNEMONIC_RET) {
        found.exits.push_back({address, PROFILIS_EXIT_ALWAYS, 0});
        continue;
      }
      if (category == ZYDIS_CATEGORY_CALL) {
        ++found.calls;
        continue;
      }
      if (category != ZYDIS_CATEGORY_UNCOND_BR && category != ZYDIS_CATEGORY_COND_BR) continue;
      const ZydisDecodedOperand& target = operands[0];
      std::uint64_t to = 0;
      if (target.type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !target.imm.is_relative ||
          !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &target, address, &to))) {
        found.uncertain = "an indirect jump at " + hex(address) +
                          " (a switch table or a tail call through a pointer: which one is not "
                          "known without running it)";
        return found;
      }
      const bool own_entry_exit = to == entry && rules.own_entry_jump_is_exit;
      if (to == entry && !own_entry_exit) {
        const auto condition = condition_of(insn.mnemonic);
        found.restarts.push_back({address, condition.value_or(PROFILIS_EXIT_ALWAYS), to});
      }
      if (inside(parts, to) && !own_entry_exit) {
        inner_jumps.push_back({address, to});
        continue;
      }
      const auto condition = condition_of(insn.mnemonic);
      if (!condition) {
        found.uncertain = "a loop instruction at " + hex(address) + " that leaves it";
        return found;
      }
      if (own_entry_exit) {
        found.exits.push_back({address, *condition, to});
        ++found.tail_jumps;
        continue;
      }
      if (!rules.is_function_start || !rules.is_function_start(to)) {
        found.uncertain = "a jump at " + hex(address) + " to " + hex(to) +
                          ", which is neither inside it nor a function's start";
        return found;
      }
      found.exits.push_back({address, *condition, to});
      ++found.tail_jumps;
    }
  }
  for (const Jump& jump : inner_jumps) {
    if (!boundaries.contains(jump.to)) {
      found.uncertain = "a jump at " + hex(jump.from) + " into the middle of an instruction at " +
                        hex(jump.to) + " (overlapping code or data in code)";
      return found;
    }
  }
  return found;
}

}  // namespace profilis
