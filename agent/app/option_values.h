// The value syntaxes of the command line, shared by the flags and the config file: each parser
// accepts exactly one syntax and throws UsageError saying what is wrong with the text. The message
// does not name the option: the caller knows whether the value came from a flag or a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace profilis {

using namespace std::chrono_literals;

// A whole number in [min, max]: decimal digits only, so no sign, no 0x, no exponent, no spaces (a
// "-1" is out of range, never wrapped; a number past 2^64 is out of range, never saturated).
std::uint64_t parse_count(std::string_view text, std::uint64_t min, std::uint64_t max);

// Longer than any run of the agent, and far inside what signed nanoseconds hold, so a deadline
// computed from it cannot overflow.
inline constexpr std::chrono::nanoseconds kMaxDuration = 100 * 365 * 24h;

struct DurationSyntax {
  // What a number without a unit means; none: a unit is required.
  std::optional<std::chrono::nanoseconds> bare_unit;
  std::chrono::nanoseconds min{0};
  std::chrono::nanoseconds max = kMaxDuration;
};

// Every duration option's syntax: a decimal number ("2", "1.5", no exponent) and a unit, one of
// ns, us, ms, s, m, h; a bare number in `syntax.bare_unit`. A fraction of a nanosecond rounds up,
// so that a positive duration never becomes 0. Checked against [syntax.min, syntax.max].
std::chrono::nanoseconds parse_duration(std::string_view text, const DurationSyntax& syntax);

// In the largest unit that divides it exactly ("250us", "1h", "1500ms"), for messages.
std::string format_duration(std::chrono::nanoseconds duration);

// A ring buffer size: bytes, or a number with K, M or G (powers of 1024; "KiB", "MB" and lower
// case too). It must be a power of two, a multiple of the page size and at most 1 GiB.
std::uint32_t parse_ring_buffer_size(std::string_view text);

// `text` when it is one of `choices` (exactly, case included).
std::string parse_choice(std::string_view text, std::initializer_list<std::string_view> choices);

// A process-name glob the kernel matches at exec: '*' and '?' only, at most 31 characters (a
// name has at most 15).
std::string parse_comm_glob(std::string_view text);

// "true" or "false", as a flag's value (--verbose=false) or a config file's boolean.
bool parse_bool(std::string_view text);

}  // namespace profilis
