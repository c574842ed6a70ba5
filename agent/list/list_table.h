// Plain-text tables for a terminal: each column as wide as its widest cell, narrowed with an
// ellipsis until every line fits a width.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace profilis {

struct TableColumn {
  std::string header;
  bool align_right = false;
  // Narrowest this column may be cut to when the table is too wide; 0 keeps it at full width.
  // Columns are cut from the rightmost shrinkable one leftwards, so put the column whose tail
  // matters least (an argument list, a file name) right of the one that matters most.
  std::size_t min_width = 0;
};

// Columns on the screen: UTF-8 code points (symbol names are ASCII in practice; the ellipsis is
// not).
std::size_t display_width(std::string_view text);

// `text` cut to at most `width` columns, ending in "…" when it was cut.
std::string truncate_to_width(std::string_view text, std::size_t width);

// The header line and one line per row, columns two spaces apart, no trailing blanks. Control
// characters in cells (a hostile ELF file's names reach the terminal) are shown as '?'.
std::string render_table(const std::vector<TableColumn>& columns,
                         const std::vector<std::vector<std::string>>& rows, std::size_t max_width);

}  // namespace profilis
