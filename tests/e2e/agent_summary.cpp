#include "tests/e2e/agent_summary.h"

#include <regex>

namespace profilis::e2e {

std::optional<std::uint64_t> summary_number(const std::string& err, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(err, m, std::regex(pattern))) return std::nullopt;
  return std::stoull(m[1]);
}

}  // namespace profilis::e2e
