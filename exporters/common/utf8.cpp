#include "exporters/common/utf8.h"

#include <cstdint>
#include <cstring>

namespace profilis {
namespace {

// Eight bytes at a time: label values and most strings are plain ASCII.
bool is_ascii(std::string_view s) {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof word);
    if (word & kHighBits) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  }
  return true;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  std::size_t n = 0;
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  if (b >= 0xE0 && b <= 0xEF) n = 3;
  if (b >= 0xF0 && b <= 0xF4) n = 4;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if ((b == 0xE0 && b1 < 0xA0) || (b == 0xF0 && b1 < 0x90)) return 0;  // overlong
  if ((b == 0xED && b1 > 0x9F) || (b == 0xF4 && b1 > 0x8F)) return 0;  // surrogate, > U+10FFFF
  return n;
}

bool is_valid_utf8(std::string_view s) {
  if (is_ascii(s)) return true;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_length(s, i);
    out.append(n == 0 ? kUtf8Replacement : s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::size_t without_cut_sequence(std::string_view s) {
  // A lead byte among the last three bytes whose sequence needs more bytes than are left.
  for (std::size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto byte = static_cast<unsigned char>(s[s.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const std::size_t needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return needed > back ? s.size() - back : s.size();
  }
  return s.size();
}

}  // namespace profilis
