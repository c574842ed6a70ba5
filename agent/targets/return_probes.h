// How each traced function's returns are seen: by a uretprobe (which swaps the return address for
// the kernel's trampoline: cheap, but no unwinder or Go stack copy can pass it) or by uprobes on
// its exit instructions (safe, but a `ret` is single-stepped: about ten times the cost here).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
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
};

struct ReturnPlan {
  ReturnWay way = ReturnWay::uretprobe;
  std::vector<ExitProbe> exits;  // for ReturnWay::exits and goroutine_exits
  std::string why;               // for --verbose: the way and the reason
  std::string refused;           // not empty: the returns cannot be probed safely, and why
};

// The return plans of one file's functions.
class ReturnPlanner {
 public:
  // Throws UsageError when the file cannot be read, or for --fn-returns uretprobes on Go code.
  ReturnPlanner(const std::string& path, const std::string& object,
                const std::vector<FunctionSymbol>& symbols, ReturnChoice choice);

  ReturnPlan plan(const FunctionSymbol& function) const;
  CodeLanguage language() const { return layout_.language; }

 private:
  bool is_function_start(std::uint64_t address) const;

  std::string path_;
  ReturnChoice choice_;
  CodeLayout layout_;
  std::set<std::uint64_t> starts_;
};

}  // namespace profilis
