#include "tests/e2e/json_lines.h"

#include <gtest/gtest.h>

#include <algorithm>
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

std::vector<std::string> keys_without_container_fields(const Json& event) {
  static const std::vector<std::string> kContainerFields = {"container_id", "k8s_namespace",
                                                            "k8s_pod", "k8s_container"};
  std::vector<std::string> keys;
  for (const auto& item : event.items()) keys.push_back(item.key());
  const auto service = std::find(keys.begin(), keys.end(), "service");
  if (service == keys.end()) return keys;
  auto end = service + 1;
  for (const std::string& field : kContainerFields) {
    if (end == keys.end() || *end != field) break;
    ++end;
  }
  keys.erase(service + 1, end);
  return keys;
}

std::vector<Json> read_json_lines(const std::string& path) {
  const auto text = read_file(path);
  if (!text) ADD_FAILURE() << "no file " << path;
  return parse_json_lines(text.value_or(""), path);
}

}  // namespace profilis::e2e
