// Reading the figures of the agent's exit summary (its last stderr lines) in the e2e tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace profilis::e2e {

// The number `pattern`'s one group matches in the agent's stderr, or nothing when there is no such
// line (the "calls not measured" line is printed only when some were not).
std::optional<std::uint64_t> summary_number(const std::string& err, const std::string& pattern);

}  // namespace profilis::e2e
