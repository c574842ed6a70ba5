#include "exporters/prometheus/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

namespace profilis {

namespace {

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void append_count(std::string& out, std::uint64_t count) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, count).ptr;
  out.append(buf, end);
}

// `a="x",b="y"`: rendered once per series and reused by each of a histogram's lines.
void append_label_pairs(std::string& out, const std::vector<std::string>& names,
                        const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], EscapeContext::kLabelValue);
    out += '"';
  }
}

// `name<suffix>{<pairs>,<extra>} ` — the part of a sample line before its value.
void append_sample_start(std::string& out, std::string_view name, std::string_view suffix,
                         std::string_view pairs, std::string_view extra = {}) {
  out += name;
  out += suffix;
  if (!pairs.empty() || !extra.empty()) {
    out += '{';
    out += pairs;
    if (!pairs.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
}

// `le="0.005"`, ..., `le="+Inf"`: formatted once per family.
std::vector<std::string> le_pairs(const std::vector<double>& bounds) {
  std::vector<std::string> pairs;
  for (double bound : bounds) {
    std::string pair = "le=\"";
    append_value(pair, bound);
    pairs.push_back(pair + '"');
  }
  pairs.push_back("le=\"+Inf\"");
  return pairs;
}

void append_histogram(std::string& out, const std::string& name, std::string_view pairs,
                      const HistogramData& data, const std::vector<std::string>& les) {
  for (std::size_t i = 0; i < data.cumulative.size() && i < les.size(); ++i) {
    append_sample_start(out, name, "_bucket", pairs, les[i]);
    append_count(out, data.cumulative[i]);
    out += '\n';
  }
  append_sample_start(out, name, "_sum", pairs);
  append_value(out, data.sum);
  out += '\n';
  append_sample_start(out, name, "_count", pairs);
  append_count(out, data.count);
  out += '\n';
}

// An upper bound on what append_family writes, so the page is written into one allocation: a
// histogram page runs to megabytes, and growing it by doubling costs more than formatting it.
// Reserved pages that are never written are never touched, so being generous is free.
std::size_t size_bound(const FamilySnapshot& family) {
  const FamilyDesc& desc = family.desc;
  const std::size_t lines = desc.type == MetricType::kHistogram ? desc.bounds.size() + 3 : 1;
  constexpr std::size_t kLineSlack = 64;  // suffix, le pair, braces, value, newline
  std::size_t names = 0;
  for (const std::string& name : desc.label_names) names += name.size() + 4;
  std::size_t bound = 2 * (desc.name.size() + desc.help.size()) + kLineSlack;
  for (const SeriesSnapshot& series : family.series) {
    std::size_t values = 0;
    for (const std::string& value : series.label_values) values += 2 * value.size();  // escaped
    bound += lines * (desc.name.size() + names + values + kLineSlack);
  }
  return bound;
}

}  // namespace

void append_escaped(std::string& out, std::string_view text, EscapeContext context) {
  std::size_t plain_from = 0;  // runs of bytes needing no escape are copied at once
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool quote = c == '"' && context == EscapeContext::kLabelValue;
    if (c != '\\' && c != '\n' && !quote) continue;
    out.append(text.substr(plain_from, i - plain_from));
    out += '\\';
    out += c == '\n' ? 'n' : c;
    plain_from = i + 1;
  }
  out.append(text.substr(plain_from));
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  char* end = nullptr;
  // Below 2^53 every integer is exact in a double, so counts print as the integers they are.
  if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
    end = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value)).ptr;
  } else {
    end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  }
  out.append(buf, end);
}

void append_header(std::string& out, const FamilyDesc& desc) {
  out += "# HELP ";
  out += desc.name;
  out += ' ';
  append_escaped(out, desc.help, EscapeContext::kHelp);
  out += "\n# TYPE ";
  out += desc.name;
  out += ' ';
  out += type_name(desc.type);
  out += '\n';
}

void append_family(std::string& out, const FamilySnapshot& family) {
  const FamilyDesc& desc = family.desc;
  append_header(out, desc);
  const bool histogram = desc.type == MetricType::kHistogram;
  const std::vector<std::string> les =
      histogram ? le_pairs(desc.bounds) : std::vector<std::string>{};
  std::string pairs;
  for (const SeriesSnapshot& series : family.series) {
    pairs.clear();
    append_label_pairs(pairs, desc.label_names, series.label_values);
    if (histogram) {
      append_histogram(out, desc.name, pairs, series.histogram, les);
      continue;
    }
    append_sample_start(out, desc.name, "", pairs);
    append_value(out, series.value);
    out += '\n';
  }
}

std::string serialize(std::span<const FamilySnapshot> families) {
  std::size_t bound = 0;
  for (const FamilySnapshot& family : families) bound += size_bound(family);
  std::string out;
  out.reserve(bound);
  for (const FamilySnapshot& family : families) append_family(out, family);
  return out;
}

std::string render_text(const Registry& registry) { return serialize(registry.collect()); }

}  // namespace profilis
