#include "agent/common/glob.h"

namespace profilis {

// Greedy matching that remembers the last `*`: on a mismatch, let that star swallow one more byte
// and retry. Linear in practice and never recursive, so hostile patterns cannot blow the stack.
bool glob_match(std::string_view pattern, std::string_view text) {
  constexpr auto kNone = std::string_view::npos;
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = kNone;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != kNone) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool is_glob(std::string_view pattern) {
  return pattern.find_first_of("*?") != std::string_view::npos;
}

std::string collapse_stars(std::string_view pattern) {
  std::string collapsed;
  for (const char c : pattern) {
    if (c == '*' && !collapsed.empty() && collapsed.back() == '*') continue;
    collapsed += c;
  }
  return collapsed;
}

}  // namespace profilis
