#include "agent/probes/kernel_glob.h"

#include <string>

#include "agent/common/glob.h"

namespace profilis {

profilis_glob compile_kernel_glob(std::string_view glob) {
  // Runs of stars mean one star; then the automaton needs a single closure step after each move.
  std::string pattern = collapse_stars(glob);
  if (pattern.size() >= PROFILIS_GLOB_MAX) pattern.resize(PROFILIS_GLOB_MAX - 1);
  profilis_glob compiled{};
  for (std::size_t j = 0; j < pattern.size(); ++j) {
    const __u64 bit = __u64{1} << j;
    if (pattern[j] == '*') {
      compiled.star |= bit;
    } else if (pattern[j] == '?') {
      for (int c = 1; c < 256; ++c) compiled.match[c] |= bit;
    } else {
      compiled.match[static_cast<unsigned char>(pattern[j])] |= bit;
    }
  }
  compiled.accept = __u64{1} << pattern.size();
  return compiled;
}

bool kernel_glob_matches(const profilis_glob& glob, std::string_view name, std::size_t max_length) {
  __u64 at = 1u | ((1u & glob.star) << 1);
  for (std::size_t i = 0; i < name.size() && i < max_length; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == 0) break;
    const __u64 next = ((at & glob.match[c]) << 1) | (at & glob.star);
    at = next | ((next & glob.star) << 1);
    if (at == 0) return false;
  }
  return (at & glob.accept) != 0;
}

profilis_python_filters compile_python_filters(const std::vector<PythonFnSpec>& specs) {
  profilis_python_filters filters{};
  for (const PythonFnSpec& spec : specs) {
    if (filters.count == PROFILIS_MAX_PYTHON_FNS) break;
    profilis_python_filter& filter = filters.filters[filters.count];
    filter.function = compile_kernel_glob(spec.function_glob);
    filter.file = compile_kernel_glob(spec.file_glob.empty() ? "*" : spec.file_glob);
    if (spec.file_glob.empty() || collapse_stars(spec.file_glob) == "*") {
      filters.any_file |= 1u << filters.count;
    }
    if (spec.aggregate) filters.aggregate |= 1u << filters.count;
    ++filters.count;
  }
  return filters;
}

}  // namespace profilis
