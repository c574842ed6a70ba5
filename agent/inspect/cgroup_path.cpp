#include "agent/inspect/cgroup_path.h"

namespace profilis {

std::vector<std::string_view> cgroup_components_innermost_first(std::string_view line) {
  std::vector<std::string_view> components;
  const auto first = line.find(':');
  if (first == std::string_view::npos) return components;
  const auto second = line.find(':', first + 1);
  if (second == std::string_view::npos) return components;
  std::string_view path = line.substr(second + 1);
  while (!path.empty()) {
    const auto cut = path.find_last_of("/:");
    components.push_back(cut == std::string_view::npos ? path : path.substr(cut + 1));
    if (cut == std::string_view::npos) break;
    path = path.substr(0, cut);
  }
  return components;
}

}  // namespace profilis
