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
  for (const FunctionSymbol& symbol : symbols) by_address_.try_emplace(symbol.address, &symbol);
}

bool ReturnPlanner::is_function_start(std::uint64_t address) const {
  if (by_address_.contains(address)) return true;
  for (const CodeRegion& plt : layout_.plt) {
    if (address >= plt.address && address - plt.address < plt.size) return true;
  }
  return false;
}

struct ReturnPlanner::Scan {
  ExitInstructions found;
  std::vector<CodeRegion> regions;  // the body, then its cold fragments

  std::uint64_t file_offset(std::uint64_t address) const {
    const CodeRegion* region = &regions.front();
    for (const CodeRegion& candidate : regions) {
      if (address >= candidate.address && address - candidate.address < candidate.size) {
        region = &candidate;
      }
    }
    return address - region->address + region->file_offset;
  }
};

ReturnPlanner::Scan ReturnPlanner::scan(const FunctionSymbol& function) const {
  Scan result;
  result.regions = {{function.address, function.size, function.file_offset}};
  const auto [first, last] = layout_.cold_fragments.equal_range(function.name);
  for (auto it = first; it != last; ++it) result.regions.push_back(it->second);
  // The code of each part, kept alive while the parts point into it.
  std::vector<std::vector<std::uint8_t>> code;
  std::vector<CodePart> parts;
  for (const CodeRegion& region : result.regions) {
    code.push_back(value_or_usage_error(read_code(path_, region.file_offset, region.size)));
  }
  for (std::size_t i = 0; i < result.regions.size(); ++i) {
    parts.push_back({result.regions[i].address, code[i]});
  }
  result.found = find_exit_instructions(
      parts, {.is_function_start = [this](std::uint64_t at) { return is_function_start(at); },
              .own_entry_jump_is_exit = layout_.language != CodeLanguage::go});
  return result;
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
  const Scan own = scan(function);
  if (!own.found.uncertain.empty()) {
    plan.refused = "its exits cannot be found with certainty: " + own.found.uncertain;
    return plan;
  }
  plan.way = go ? ReturnWay::goroutine_exits : ReturnWay::exits;
  if (own.found.exits.empty()) {
    // Its entry is still probed: each call is then counted as left without a return, as a
    // uretprobe's would be.
    plan.why =
        "never: it has no exit instruction (a call can only be left by longjmp, an "
        "exception or exit, and is counted as abandoned)";
    return plan;
  }
  if (choice_ == ReturnChoice::automatic && !go && own.found.calls == 0 &&
      own.found.tail_jumps == 0) {
    plan.way = ReturnWay::uretprobe;
    plan.why = "by uretprobe: it calls nothing, so no exception passes through it";
    return plan;
  }
  // The functions the call can go on in by tail calls, found breadth first, each scanned once.
  std::map<std::uint64_t, Scan> chain;  // by address
  std::vector<const FunctionSymbol*> pending;
  const auto followable = [&](const ExitSite& exit) -> const FunctionSymbol* {
    if (exit.target == 0 || exit.target == function.address) return nullptr;
    const auto it = by_address_.find(exit.target);
    if (it == by_address_.end()) return nullptr;  // a PLT stub: the function is in another file
    if (!chain.contains(exit.target)) {
      if (chain.size() >= kMaxTailChain) return nullptr;
      Scan scanned = scan(*it->second);
      if (!scanned.found.uncertain.empty()) return nullptr;
      chain.emplace(exit.target, std::move(scanned));
      pending.push_back(it->second);
    }
    return it->second;
  };
  std::size_t ends_at_jump = 0;
  const auto add_exits = [&](const Scan& from, bool own_exits) {
    for (const ExitSite& exit : from.found.exits) {
      ExitProbe probe{.file_offset = from.file_offset(exit.address), .condition = exit.condition};
      if (own_exits && exit.address == function.address) {
        const FunctionSymbol* target = followable(exit);
        if (target == nullptr || exit.condition != PROFILIS_EXIT_ALWAYS) {
          plan.refused =
              "its first instruction leaves it, and not by a tail call the agent can follow: "
              "there is no call to time";
          return;
        }
        plan.entry_tail_target = target->file_offset;
        continue;
      }
      if (const FunctionSymbol* target = followable(exit)) {
        probe.kind = PROFILIS_EXIT_TAIL_JUMP;
        probe.target_offset = target->file_offset;
      } else {
        probe.kind = own_exits ? PROFILIS_EXIT_RETURN : PROFILIS_EXIT_CONTINUATION;
        if (exit.target != 0 && exit.target != function.address) ++ends_at_jump;
      }
      plan.exits.push_back(probe);
    }
  };
  add_exits(own, true);
  if (!plan.refused.empty()) return plan;
  for (const ExitSite& restart : own.found.restarts) {
    plan.exits.push_back({.file_offset = own.file_offset(restart.address),
                          .condition = restart.condition,
                          .kind = PROFILIS_EXIT_RESTART});
  }
  for (std::size_t i = 0; i < pending.size(); ++i) add_exits(chain.at(pending[i]->address), false);

  const std::size_t own_count = own.found.exits.size();
  std::string where =
      "at its " + std::to_string(own_count) + " exit instruction" + (own_count == 1 ? "" : "s");
  if (!chain.empty()) {
    where += " and those of the " + std::to_string(chain.size()) + " function" +
             (chain.size() == 1 ? "" : "s") + " its tail calls go on in";
  }
  if (ends_at_jump > 0) {
    where += " (" + std::to_string(ends_at_jump) + " tail call" + (ends_at_jump == 1 ? "" : "s") +
             " out of the file or into uncertain code end its timing at the jump)";
  }
  if (go) {
    plan.why = where + ", paired per goroutine (Go)";
  } else if (choice_ == ReturnChoice::exits) {
    plan.why = where + " (--fn-returns exits)";
  } else {
    plan.why = where + ": it calls other code, and a C++ exception may pass through it";
  }
  return plan;
}

}  // namespace profilis
