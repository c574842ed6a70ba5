#include "exporters/console/summary_table.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <vector>

namespace profilis {
namespace {

std::string key_of(const Event& event) {
  switch (event.kind) {
    case EventKind::kFn:
      return event.fn;
    case EventKind::kReq:
      return event.method.empty() ? event.route : event.method + " " + event.route;
    case EventKind::kDb:
      return event.query.empty() ? "(" + event.db_vendor + ")" : event.query;
  }
  return {};
}

bool is_error(const Event& event) {
  return event.kind == EventKind::kReq ? event.status >= 500 : event.error;
}

// "1.23ms", "850us", "12.0s": three significant figures.
std::string human(std::uint64_t ns) {
  char text[32];
  const double v = static_cast<double>(ns);
  if (ns < 1'000) {
    std::snprintf(text, sizeof text, "%lluns", static_cast<unsigned long long>(ns));
  } else if (ns < 1'000'000) {
    std::snprintf(text, sizeof text, "%.3gus", v / 1e3);
  } else if (ns < 1'000'000'000) {
    std::snprintf(text, sizeof text, "%.3gms", v / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.3gs", v / 1e9);
  }
  return text;
}

// `text` in at most `width` columns (bytes; a cut UTF-8 character is left out, not split).
std::string fit(const std::string& text, std::size_t width) {
  std::string one_line = text;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  if (one_line.size() <= width) return one_line + std::string(width - one_line.size(), ' ');
  std::size_t cut = width > 3 ? width - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(one_line[cut]) & 0xC0) == 0x80) --cut;
  std::string out = one_line.substr(0, cut) + "...";
  return out + std::string(width > out.size() ? width - out.size() : 0, ' ');
}

const char* kind_title(EventKind kind) {
  switch (kind) {
    case EventKind::kFn:
      return "functions";
    case EventKind::kReq:
      return "requests";
    case EventKind::kDb:
      return "queries";
  }
  return "";
}

}  // namespace

std::size_t LatencyHistogram::index(std::uint64_t ns) {
  if (ns < kSubBuckets) return static_cast<std::size_t>(ns);
  const int msb = 63 - std::countl_zero(ns);  // ≥ 3
  const std::uint64_t sub = (ns >> (msb - 3)) & (kSubBuckets - 1);
  return static_cast<std::size_t>(msb - 2) * kSubBuckets + static_cast<std::size_t>(sub);
}

std::uint64_t LatencyHistogram::upper_bound(std::size_t index) {
  if (index < kSubBuckets) return index;
  const std::size_t msb = index / kSubBuckets + 2;
  const std::uint64_t sub = index % kSubBuckets;
  if (msb >= 63) return UINT64_MAX;
  return ((kSubBuckets + sub + 1) << (msb - 3)) - 1;
}

void LatencyHistogram::add(std::uint64_t ns) {
  ++buckets_[std::min(index(ns), kBuckets - 1)];
  ++count_;
}

std::uint64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.999999);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return upper_bound(i);
  }
  return upper_bound(kBuckets - 1);
}

std::array<std::uint64_t, 40> LatencyHistogram::power_of_two_us() const {
  std::array<std::uint64_t, 40> rows{};
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (buckets_[i] == 0) continue;
    const std::uint64_t us = upper_bound(i) / 1000;
    const std::size_t row = us == 0 ? 0 : static_cast<std::size_t>(64 - std::countl_zero(us));
    rows[std::min<std::size_t>(row, rows.size() - 1)] += buckets_[i];
  }
  return rows;
}

void SummaryTable::add(const Event& event) {
  SummaryEntry& entry = entries_[{event.kind, key_of(event)}];
  ++entry.count;
  entry.total_ns += event.dur_ns;
  entry.max_ns = std::max(entry.max_ns, event.dur_ns);
  if (is_error(event)) ++entry.errors;
  entry.latency.add(event.dur_ns);
}

std::string SummaryTable::render(const RenderOptions& options, const std::string& title) const {
  const std::string bold = options.color ? "\033[1m" : "", plain = options.color ? "\033[0m" : "";
  // Fixed columns: count, total, mean, p50, p95, p99, max, errors.
  constexpr std::size_t kNumbers = 8 + 9 * 6 + 7;
  const std::size_t key_width = options.width > kNumbers + 12 ? options.width - kNumbers - 1 : 12;
  std::string out = bold + title + plain + "\n";
  char line[256];
  std::vector<std::pair<std::string, const SummaryEntry*>> drawn;
  for (const EventKind kind : {EventKind::kFn, EventKind::kReq, EventKind::kDb}) {
    std::vector<std::pair<std::string, const SummaryEntry*>> rows;
    for (const auto& [key, entry] : entries_) {
      if (std::get<0>(key) == kind) rows.emplace_back(std::get<1>(key), &entry);
    }
    if (rows.empty()) continue;
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second->total_ns > b.second->total_ns; });
    std::snprintf(line, sizeof line, "%8s %8s %8s %8s %8s %8s %8s %6s", "count", "total", "mean",
                  "p50", "p95", "p99", "max", "errors");
    out += bold + fit(std::string(kind_title(kind)) + " by total time", key_width) + " " + line +
           plain + "\n";
    for (std::size_t i = 0; i < rows.size() && i < options.top; ++i) {
      const SummaryEntry& e = *rows[i].second;
      std::snprintf(line, sizeof line, "%8llu %8s %8s %8s %8s %8s %8s %6llu",
                    static_cast<unsigned long long>(e.count), human(e.total_ns).c_str(),
                    human(e.total_ns / e.count).c_str(), human(e.latency.quantile(0.50)).c_str(),
                    human(e.latency.quantile(0.95)).c_str(),
                    human(e.latency.quantile(0.99)).c_str(), human(e.max_ns).c_str(),
                    static_cast<unsigned long long>(e.errors));
      out += fit(rows[i].first, key_width) + " " + line + "\n";
    }
    if (rows.size() > options.top) {
      out += "(" + std::to_string(rows.size() - options.top) + " more)\n";
    }
    for (std::size_t i = 0; i < rows.size() && drawn.size() < options.histograms; ++i) {
      if (i == 0) drawn.push_back(rows[i]);
    }
  }
  for (const auto& [key, entry] : drawn) {
    out +=
        "\n" + bold + fit(key, std::min<std::size_t>(key_width + 40, options.width)) + plain + "\n";
    const auto rows = entry->latency.power_of_two_us();
    std::size_t first = rows.size(), last = 0;
    std::uint64_t peak = 0;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r] == 0) continue;
      first = std::min(first, r);
      last = r;
      peak = std::max(peak, rows[r]);
    }
    const std::size_t bar = options.width > 40 ? std::min<std::size_t>(options.width - 36, 40) : 4;
    std::snprintf(line, sizeof line, "%21s : %-8s %s", "usecs", "count", "distribution");
    out += std::string(line) + "\n";
    for (std::size_t r = first; r <= last && r < rows.size(); ++r) {
      const std::uint64_t low = r == 0 ? 0 : (1ULL << (r - 1));
      const std::uint64_t high = (1ULL << r) - 1;
      const auto stars =
          static_cast<std::size_t>(peak == 0 ? 0 : (rows[r] * bar + peak - 1) / peak);
      std::snprintf(line, sizeof line, "%10llu -> %-8llu : %-8llu |%s%s|",
                    static_cast<unsigned long long>(low), static_cast<unsigned long long>(high),
                    static_cast<unsigned long long>(rows[r]), std::string(stars, '*').c_str(),
                    std::string(bar - stars, ' ').c_str());
      out += std::string(line) + "\n";
    }
  }
  return out;
}

}  // namespace profilis
