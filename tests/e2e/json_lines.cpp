#include "tests/e2e/json_lines.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/e2e/process.h"

namespace profilis::e2e {

std::vector<Json> parse_json_lines(const std::string& text, const std::string& origin) {
  std::vector<Json> lines;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      lines.push_back(Json::parse(line));
    } catch (const Json::exception& e) {
      ADD_FAILURE() << origin << ":" << number << ": not JSON (" << e.what() << "): " << line;
    }
  }
  return lines;
}

std::vector<Json> read_json_lines(const std::string& path) {
  const auto text = read_file(path);
  if (!text) ADD_FAILURE() << "no file " << path;
  return parse_json_lines(text.value_or(""), path);
}

}  // namespace profilis::e2e
