#include "agent/list/list_table.h"

#include <algorithm>

namespace profilis {
namespace {

constexpr std::string_view kEllipsis = "…";
constexpr std::string_view kGap = "  ";

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = '?';
  }
  return out;
}

void append_cell(std::string& line, std::string_view cell, std::size_t width, bool align_right) {
  const std::string text = truncate_to_width(printable(cell), width);
  const std::size_t padding = width - display_width(text);
  if (align_right) line.append(padding, ' ');
  line += text;
  if (!align_right) line.append(padding, ' ');
}

}  // namespace

std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation(c); }));
}

std::string truncate_to_width(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) return std::string(text);
  if (width == 0) return {};
  // Keep width - 1 code points, then the ellipsis.
  std::size_t kept = 0;
  std::size_t end = 0;
  for (; end < text.size() && kept < width - 1; ++kept) {
    ++end;
    while (end < text.size() && is_continuation(text[end])) ++end;
  }
  return std::string(text.substr(0, end)) + std::string(kEllipsis);
}

std::string render_table(const std::vector<TableColumn>& columns,
                         const std::vector<std::vector<std::string>>& rows, std::size_t max_width) {
  std::vector<std::size_t> widths(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    widths[i] = display_width(columns[i].header);
    for (const auto& row : rows) {
      if (i < row.size()) widths[i] = std::max(widths[i], display_width(printable(row[i])));
    }
  }
  std::size_t total = columns.empty() ? 0 : kGap.size() * (columns.size() - 1);
  for (std::size_t width : widths) total += width;
  for (std::size_t i = columns.size(); i-- > 0 && total > max_width;) {
    if (columns[i].min_width == 0 || widths[i] <= columns[i].min_width) continue;
    const std::size_t cut = std::min(total - max_width, widths[i] - columns[i].min_width);
    widths[i] -= cut;
    total -= cut;
  }

  std::string out;
  auto append_line = [&](auto cell_of) {
    std::string line;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) line += kGap;
      append_cell(line, cell_of(i), widths[i], columns[i].align_right);
    }
    // Padding of the last column, and the gap before an empty last cell, would trail.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    out += '\n';
  };
  append_line([&](std::size_t i) -> std::string_view { return columns[i].header; });
  for (const auto& row : rows) {
    append_line([&](std::size_t i) -> std::string_view {
      return i < row.size() ? std::string_view(row[i]) : std::string_view();
    });
  }
  return out;
}

}  // namespace profilis
