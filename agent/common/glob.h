#pragma once

#include <string>
#include <string_view>

namespace profilis {

// Shell-style match of the whole text: `*` any run (also empty), `?` one byte, everything else
// literal.
bool glob_match(std::string_view pattern, std::string_view text);

// True when the pattern has a wildcard, i.e. it may match more than one name.
bool is_glob(std::string_view pattern);

// The pattern with each run of `*` cut to one: it matches what the pattern matches.
std::string collapse_stars(std::string_view pattern);

}  // namespace profilis
