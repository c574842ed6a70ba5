#include "tests/common/exposition.h"

#include <sstream>

namespace profilis::testutil {

std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

std::size_t series_count(const std::string& text, const std::string& name) {
  std::size_t n = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) n += line.starts_with(name + "{");
  return n;
}

}  // namespace profilis::testutil
