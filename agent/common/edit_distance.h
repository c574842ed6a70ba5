// For "did you mean" messages.
#pragma once

#include <cstddef>
#include <string_view>

namespace profilis {

// Levenshtein distance: the fewest single-character insertions, deletions and substitutions that
// turn `a` into `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace profilis
