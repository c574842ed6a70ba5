// The Prometheus text exposition format 0.0.4: snapshots (prometheus_registry.h) in, text out.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "exporters/prometheus/prometheus_registry.h"

namespace profilis {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// HELP text escapes backslash and newline; label values also escape the double quote.
enum class EscapeContext { kHelp, kLabelValue };
void append_escaped(std::string& out, std::string_view text, EscapeContext context);

// Integers exactly (no exponent, no ".0"), others in the shortest form that reads back the same,
// and NaN, +Inf, -Inf as the format spells them.
void append_value(std::string& out, double value);

// The `# HELP` and `# TYPE` lines.
void append_header(std::string& out, const FamilyDesc& desc);

// Header and every sample of one family; histograms as cumulative `_bucket{le=...}` lines ending
// with `le="+Inf"`, then `_sum` and `_count`.
void append_family(std::string& out, const FamilySnapshot& family);

std::string serialize(std::span<const FamilySnapshot> families);

// What GET /metrics serves: serialize(registry.collect()).
std::string render_text(const Registry& registry);

}  // namespace profilis
