#include "agent/targets/return_probes.h"

#include "agent/common/errors.h"
#include "agent/inspect/exit_instructions.h"

namespace profilis {

std::optional<ReturnChoice> parse_return_choice(std::string_view text) {
  if (text == "auto") return ReturnChoice::automatic;
  if (text == "exits") return ReturnChoice::exits;
  if (text == "uretprobes") return ReturnChoice::uretprobes;
  return std::nullopt;
}

const char* to_string(ReturnChoice choice) {
  switch (choice) {
    case ReturnChoice::automatic:
      return "auto";
    case ReturnChoice::exits:
      return "exits";
    case ReturnChoice::uretprobes:
      return "uretprobes";
  }
  return "?";
}

ReturnPlanner::ReturnPlanner(const std::string& path, const std::string& object,
                             const std::vector<FunctionSymbol>& symbols, ReturnChoice choice)
    : path_(path), choice_(choice), layout_(value_or_usage_error(read_code_layout(path))) {
  if (layout_.language == CodeLanguage::go && choice == ReturnChoice::uretprobes) {
    throw UsageError("--fn-returns uretprobes: " + object +
                     " is a Go program, which a uretprobe crashes (its return address is "
                     "replaced, and Go copies goroutine stacks and walks them); use auto or exits");
  }
  for (const FunctionSymbol& symbol : symbols) starts_.insert(symbol.address);
}

bool ReturnPlanner::is_function_start(std::uint64_t address) const {
  if (starts_.contains(address)) return true;
  for (const CodeRegion& plt : layout_.plt) {
    if (address >= plt.address && address - plt.address < plt.size) return true;
  }
  return false;
}

ReturnPlan ReturnPlanner::plan(const FunctionSymbol& function) const {
  ReturnPlan plan;
  const bool go = layout_.language == CodeLanguage::go;
  if (choice_ == ReturnChoice::uretprobes) {
    plan.why = "by uretprobe (--fn-returns uretprobes)";
    return plan;
  }
  if (choice_ == ReturnChoice::automatic && layout_.language == CodeLanguage::c) {
    plan.why = "by uretprobe: a C object, no C++ exception unwinds through its functions";
    return plan;
  }
  // The code of the body and of its cold fragments, kept alive while the parts point into it.
  std::vector<std::vector<std::uint8_t>> code;
  std::vector<CodeRegion> regions = {{function.address, function.size, function.file_offset}};
  const auto [first, last] = layout_.cold_fragments.equal_range(function.name);
  for (auto it = first; it != last; ++it) regions.push_back(it->second);
  std::vector<CodePart> parts;
  for (const CodeRegion& region : regions) {
    code.push_back(value_or_usage_error(read_code(path_, region.file_offset, region.size)));
  }
  for (std::size_t i = 0; i < regions.size(); ++i) {
    parts.push_back({regions[i].address, code[i]});
  }
  const ExitInstructions found = find_exit_instructions(
      parts, {.is_function_start = [this](std::uint64_t at) { return is_function_start(at); },
              .own_entry_jump_is_exit = !go});
  if (!found.uncertain.empty()) {
    plan.refused = "its exits cannot be found with certainty: " + found.uncertain;
    return plan;
  }
  if (found.exits.empty()) {
    // Its entry is still probed: each call is then counted as left without a return, as a
    // uretprobe's would be.
    plan.way = go ? ReturnWay::goroutine_exits : ReturnWay::exits;
    plan.why =
        "never: it has no exit instruction (a call can only be left by longjmp, an "
        "exception or exit, and is counted as abandoned)";
    return plan;
  }
  if (choice_ == ReturnChoice::automatic && !go && found.calls == 0 && found.tail_jumps == 0) {
    plan.why = "by uretprobe: it calls nothing, so no exception passes through it";
    return plan;
  }
  plan.way = go ? ReturnWay::goroutine_exits : ReturnWay::exits;
  for (const ExitSite& exit : found.exits) {
    const CodeRegion* region = &regions.front();
    for (const CodeRegion& candidate : regions) {
      if (exit.address >= candidate.address && exit.address - candidate.address < candidate.size) {
        region = &candidate;
      }
    }
    plan.exits.push_back({exit.address - region->address + region->file_offset, exit.condition});
  }
  const std::string count =
      std::to_string(plan.exits.size()) + " exit instruction" + (plan.exits.size() == 1 ? "" : "s");
  if (go) {
    plan.why = "at its " + count + ", paired per goroutine (Go)";
  } else if (choice_ == ReturnChoice::exits) {
    plan.why = "at its " + count + " (--fn-returns exits)";
  } else {
    plan.why = "at its " + count + ": it calls other code, and a C++ exception may pass through it";
  }
  return plan;
}

}  // namespace profilis
