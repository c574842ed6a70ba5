// How each traced function's returns are seen: by a uretprobe (which swaps the return address for
// the kernel's trampoline: cheap, but no unwinder or Go stack copy can pass it) or by uprobes on
// its exit instructions (safe, but a `ret` is single-stepped: about ten times the cost here).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inspect/code_layout.h"
#include "agent/inspect/symbols.h"

namespace profilis {

// --fn-returns.
enum class ReturnChoice {
  automatic,   // exit instructions where an exception or a Go stack copy could meet the trampoline
  exits,       // exit instructions everywhere
  uretprobes,  // uretprobes everywhere (refused for Go)
};

std::optional<ReturnChoice> parse_return_choice(std::string_view text);
const char* to_string(ReturnChoice choice);

enum class ReturnWay {
  uretprobe,
  exits,            // paired per thread
  goroutine_exits,  // Go: paired per goroutine
};

struct ExitProbe {
  std::uint64_t file_offset = 0;
  std::uint32_t condition = 0;  // profilis_exit_condition
  std::uint32_t kind = 0;       // profilis_exit_kind
  // For a tail jump: the file offset of the function it jumps to (whose own exits, and those of
  // the functions it tail-jumps to in turn, end the call as CONTINUATION probes).
  std::uint64_t target_offset = 0;
};

struct ReturnPlan {
  ReturnWay way = ReturnWay::uretprobe;
  // For ReturnWay::exits and goroutine_exits: the function's own exits, and those of the functions
  // its tail calls go on in.
  std::vector<ExitProbe> exits;
  // A function whose first instruction is its tail jump: the file offset of the function the call
  // goes on in, for the entry probe to record (a second probe on that instruction would race it).
  std::uint64_t entry_tail_target = 0;
  std::string why;      // for --verbose: the way and the reason
  std::string refused;  // not empty: the returns cannot be probed safely, and why
};

// The return plans of one file's functions. A tail call (a jump to another function's start)
// does not end the call: it goes on in the function jumped to, whose exits end it, followed
// through the file's functions up to kMaxTailChain of them; a tail call it cannot follow (through
// the PLT into another file, or into a function whose exits are uncertain) ends the call there.
class ReturnPlanner {
 public:
  static constexpr std::size_t kMaxTailChain = 16;

  // `symbols` must outlive the planner. Throws UsageError when the file cannot be read, or for
  // --fn-returns uretprobes on Go code.
  ReturnPlanner(const std::string& path, const std::string& object,
                const std::vector<FunctionSymbol>& symbols, ReturnChoice choice);

  ReturnPlan plan(const FunctionSymbol& function) const;
  CodeLanguage language() const { return layout_.language; }

 private:
  struct Scan;
  bool is_function_start(std::uint64_t address) const;
  Scan scan(const FunctionSymbol& function) const;

  std::string path_;
  ReturnChoice choice_;
  CodeLayout layout_;
  std::map<std::uint64_t, const FunctionSymbol*> by_address_;
};

}  // namespace profilis
