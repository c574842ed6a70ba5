// UTF-8 validation, in one place for every output: strings read from traced processes may hold any
// bytes, and both JSON and the Prometheus text format must be valid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace profilis {

inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF); 1 for ASCII, 0 when the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

bool is_valid_utf8(std::string_view s);

// The length of `s` without a multi-byte sequence its end cuts short: where to cut a prefix taken
// at a byte count (a bounded read) so that it ends on a character boundary.
std::size_t without_cut_sequence(std::string_view s);

// `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s);

}  // namespace profilis
