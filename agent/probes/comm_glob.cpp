#include "agent/probes/comm_glob.h"

#include <string>

namespace profilis {

profilis_comm_glob compile_comm_glob(std::string_view glob) {
  // Runs of stars mean one star; then the automaton needs a single closure step after each move.
  std::string pattern;
  for (const char c : glob) {
    if (c == '*' && !pattern.empty() && pattern.back() == '*') continue;
    if (pattern.size() + 1 >= PROFILIS_COMM_GLOB_MAX) break;
    pattern += c;
  }
  profilis_comm_glob compiled{};
  for (std::size_t j = 0; j < pattern.size(); ++j) {
    const __u32 bit = 1u << j;
    if (pattern[j] == '*') {
      compiled.star |= bit;
    } else if (pattern[j] == '?') {
      for (int c = 1; c < 256; ++c) compiled.match[c] |= bit;
    } else {
      compiled.match[static_cast<unsigned char>(pattern[j])] |= bit;
    }
  }
  compiled.accept = 1u << pattern.size();
  return compiled;
}

bool comm_glob_matches(const profilis_comm_glob& glob, std::string_view comm) {
  __u32 at = 1u | ((1u & glob.star) << 1);
  for (std::size_t i = 0; i < comm.size() && i + 1 < PROFILIS_COMM_LEN; ++i) {
    const auto c = static_cast<unsigned char>(comm[i]);
    if (c == 0) break;
    const __u32 next = ((at & glob.match[c]) << 1) | (at & glob.star);
    at = next | ((next & glob.star) << 1);
    if (at == 0) return false;
  }
  return (at & glob.accept) != 0;
}

}  // namespace profilis
