#include "agent/app/option_values.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "agent/common/edit_distance.h"
#include "agent/common/errors.h"
#include "profilis_records.h"

namespace profilis {
namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

struct DurationUnit {
  std::string_view name;
  std::chrono::nanoseconds size;
};

// Largest first, for format_duration.
constexpr std::array<DurationUnit, 6> kDurationUnits = {
    {{"h", 1h}, {"m", 1min}, {"s", 1s}, {"ms", 1ms}, {"us", 1us}, {"ns", 1ns}}};

[[noreturn]] void bad_duration(std::string_view text, std::string_view why) {
  throw UsageError(quoted(text) + " is not a duration: " + std::string(why) +
                   " (a number and a unit: ns, us, ms, s, m or h, e.g. 250us, 1.5s, 2m)");
}

std::chrono::nanoseconds unit_named(std::string_view text, std::string_view name,
                                    const DurationSyntax& syntax) {
  if (name.empty()) {
    if (!syntax.bare_unit) bad_duration(text, "the unit is missing");
    return *syntax.bare_unit;
  }
  for (const DurationUnit& unit : kDurationUnits) {
    if (unit.name == name) return unit.size;
  }
  bad_duration(text, "unknown unit '" + std::string(name) + "'");
}

// digits[.digits] × unit in whole nanoseconds, rounded up; nothing when past kMaxDuration. The
// fraction is kept to 18 digits (an attosecond of an hour is far below a nanosecond) and any digit
// beyond them only rounds up; 128-bit products hold 10^18 × one hour in nanoseconds exactly.
std::optional<std::chrono::nanoseconds> scaled(std::string_view whole, std::string_view fraction,
                                               std::chrono::nanoseconds unit) {
  const std::uint64_t per_unit = static_cast<std::uint64_t>(unit.count());
  const std::uint64_t max = static_cast<std::uint64_t>(kMaxDuration.count());
  std::uint64_t units = 0;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), units);
  if (ec != std::errc() || units > max / per_unit) return std::nullopt;
  unsigned __int128 numerator = 0, denominator = 1;
  bool beyond = false;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    if (i >= 18) {
      beyond = beyond || fraction[i] != '0';
      continue;
    }
    numerator = numerator * 10 + static_cast<unsigned>(fraction[i] - '0');
    denominator *= 10;
  }
  numerator = numerator * per_unit + (beyond ? 1 : 0);
  const auto part = static_cast<std::uint64_t>((numerator + denominator - 1) / denominator);
  const std::uint64_t total = units * per_unit + part;
  if (total > max) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

}  // namespace

std::uint64_t parse_count(std::string_view text, std::uint64_t min, std::uint64_t max) {
  const bool negative = text.size() > 1 && text.front() == '-' && all_digits(text.substr(1));
  if (!all_digits(text) && !negative) {
    throw UsageError(quoted(text) + " is not a whole number");
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (negative || ec != std::errc() || value < min || value > max) {
    throw UsageError(quoted(text) + " is out of range (" + std::to_string(min) + " to " +
                     std::to_string(max) + ")");
  }
  return value;
}

std::chrono::nanoseconds parse_duration(std::string_view text, const DurationSyntax& syntax) {
  const auto digits_end = [&](std::size_t from) {
    std::size_t i = from;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i;
  };
  const auto range = "(" + format_duration(syntax.min) + " to " + format_duration(syntax.max) + ")";
  const auto out_of_range = [&] { throw UsageError(quoted(text) + " is out of range " + range); };
  if (text.size() > 1 && text[0] == '-' && digits_end(1) > 1) out_of_range();
  const std::size_t whole_end = digits_end(0);
  if (whole_end == 0) bad_duration(text, "it does not start with a digit");
  std::size_t number_end = whole_end;
  std::string_view fraction;
  if (number_end < text.size() && text[number_end] == '.') {
    number_end = digits_end(whole_end + 1);
    if (number_end == whole_end + 1) bad_duration(text, "no digit after the '.'");
    fraction = text.substr(whole_end + 1, number_end - whole_end - 1);
  }
  const auto unit = unit_named(text, text.substr(number_end), syntax);
  const auto value = scaled(text.substr(0, whole_end), fraction, unit);
  if (!value || *value < syntax.min || *value > syntax.max) out_of_range();
  return *value;
}

std::string format_duration(std::chrono::nanoseconds duration) {
  if (duration == kMaxDuration) return "100 years";
  if (duration == 0ns) return "0s";
  for (const DurationUnit& unit : kDurationUnits) {
    if (duration % unit.size == 0ns) {
      return std::to_string(duration / unit.size) + std::string(unit.name);
    }
  }
  return std::to_string(duration.count()) + "ns";  // not reached: every duration divides by 1ns
}

std::uint32_t parse_ring_buffer_size(std::string_view text) {
  const auto fail = [&](const std::string& why) { return UsageError(quoted(text) + ": " + why); };
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [unit_start, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) throw fail("too large (at most 1G)");
  if (ec != std::errc() || unit_start == text.data()) {
    throw fail("expected bytes or a number with K, M or G (16M)");
  }
  std::string unit(unit_start, end);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  unsigned shift = 0;
  if (!unit.empty() && unit != "B") {
    const char prefix = unit[0];
    shift = prefix == 'K' ? 10 : prefix == 'M' ? 20 : prefix == 'G' ? 30 : 0;
    const std::string rest = unit.substr(1);
    if (shift == 0 || !(rest.empty() || rest == "B" || rest == "IB")) {
      throw fail("unknown unit '" + std::string(unit_start, end) + "' (use K, M or G)");
    }
  }
  constexpr std::uint64_t kMax = 1ull << 30;
  if (value > (kMax >> shift)) throw fail("too large (at most 1G)");
  value <<= shift;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  if (value < page || (value & (value - 1)) != 0) {
    throw fail("must be a power of two and at least one page (" + std::to_string(page) + " bytes)");
  }
  return static_cast<std::uint32_t>(value);
}

std::string parse_choice(std::string_view text, std::initializer_list<std::string_view> choices) {
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return std::string(text);
  std::string list;
  for (std::string_view choice : choices) list += (list.empty() ? "" : ", ") + std::string(choice);
  throw UsageError(quoted(text) + " is not one of " + list);
}

std::string parse_comm_glob(std::string_view text) {
  if (text.empty()) throw UsageError("an empty glob matches no process name");
  if (text.size() >= PROFILIS_COMM_GLOB_MAX) {
    throw UsageError(quoted(text) + " is longer than " +
                     std::to_string(PROFILIS_COMM_GLOB_MAX - 1) +
                     " characters (a process name has at most 15)");
  }
  if (text.find_first_of("[]\\") != std::string_view::npos) {
    throw UsageError(quoted(text) + ": only * and ? are special in a process-name glob");
  }
  return std::string(text);
}

std::vector<MetricLabel> parse_metric_labels(std::string_view text) {
  std::vector<MetricLabel> labels;
  // Every item, the empty ones of "a,,b" or "a," too: those are mistakes.
  for (std::size_t start = 0; !text.empty() && start <= text.size();) {
    const auto comma = std::min(text.find(',', start), text.size());
    const std::string_view name = text.substr(start, comma - start);
    start = comma + 1;
    const auto it = std::find_if(kMetricLabels.begin(), kMetricLabels.end(),
                                 [&](MetricLabel l) { return metric_label_name(l) == name; });
    if (it == kMetricLabels.end()) {
      std::string valid;
      for (MetricLabel l : kMetricLabels) {
        valid += (valid.empty() ? "" : ", ") + std::string(metric_label_name(l));
      }
      const MetricLabel closest = *std::min_element(
          kMetricLabels.begin(), kMetricLabels.end(), [&](MetricLabel a, MetricLabel b) {
            return edit_distance(name, metric_label_name(a)) <
                   edit_distance(name, metric_label_name(b));
          });
      // As close as a typo: a third of the name's letters, at least two.
      const bool close = edit_distance(name, metric_label_name(closest)) <=
                         std::max<std::size_t>(2, name.size() / 3);
      throw UsageError(
          quoted(name) + " is not a metric label" +
          (close ? " (did you mean " + quoted(metric_label_name(closest)) + "?)" : "") +
          "; expected a comma list of " + valid);
    }
    if (std::find(labels.begin(), labels.end(), *it) == labels.end()) labels.push_back(*it);
  }
  return labels;
}

bool parse_bool(std::string_view text) { return parse_choice(text, {"true", "false"}) == "true"; }

}  // namespace profilis
