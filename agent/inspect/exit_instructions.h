// Where a function's calls end: its exit instructions (`ret`, and jumps that leave it), found by
// disassembling its code, so that return probes can sit on them instead of replacing the return
// address (which an exception or a Go stack copy cannot survive).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "profilis_records.h"

namespace profilis {

// One contiguous piece of a function's code: its body, or a cold fragment GCC split off.
struct CodePart {
  std::uint64_t address = 0;  // as linked (the ELF symbol's value)
  std::span<const std::uint8_t> bytes;
};

// An instruction that leaves the function, and when (profilis_exit_condition: a conditional jump
// out leaves only when taken).
struct ExitSite {
  std::uint64_t address = 0;
  std::uint32_t condition = 0;
  std::uint64_t target = 0;  // where a jump goes (0 for a `ret`)
};

struct ExitInstructions {
  std::vector<ExitSite> exits;  // `ret`s and jumps that leave the function
  std::size_t calls = 0;        // call instructions: what they call may throw through it
  std::size_t tail_jumps = 0;   // jumps to another function's start (or a PLT stub)
  // Jumps back to the entry that are not exits (own_entry_jump_is_exit false): Go's restart of
  // the function after the runtime grew its stack or served a preemption request.
  std::vector<ExitSite> restarts;
  // Why the exits cannot be known with certainty (an indirect jump, bytes that do not decode, a
  // jump to no function's start or into an instruction); empty when they can.
  std::string uncertain;
};

struct ExitRules {
  // Whether a jump that leaves the function lands where a function (or a PLT stub) starts, so it
  // is a tail call; a jump anywhere else out of the function is not understood.
  std::function<bool(std::uint64_t)> is_function_start;
  // A jump back to the function's own first instruction: a tail call of itself (C, C++), or Go's
  // restart after growing the stack, which is the same call going on.
  bool own_entry_jump_is_exit = true;
};

// `parts`: the body first (its address is the function's entry), then its cold fragments. Decodes
// each part from start to end (x86-64); compilers put no data inside functions on x86-64, and
// every jump target inside the function must fall on an instruction the sweep found, or the
// result is uncertain. An exit may be the first instruction (a function that is only a tail jump).
ExitInstructions find_exit_instructions(const std::vector<CodePart>& parts, const ExitRules& rules);

}  // namespace profilis
