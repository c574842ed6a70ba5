#include "agent/inspect/container_id.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include "agent/inspect/cgroup_path.h"

namespace profilis {
namespace {

// The runtimes' monitor processes: their scope carries the container's id but they run outside it.
bool is_monitor(std::string_view component) {
  return component.starts_with("crio-conmon-") || component.starts_with("libpod-conmon-");
}

// The id in one path component: a bare id (cgroupfs driver, `/docker/<id>`), or the systemd
// driver's `<runtime>-<id>.scope`.
std::optional<std::string_view> id_in_component(std::string_view component) {
  if (component.ends_with(".scope")) component.remove_suffix(std::string_view(".scope").size());
  static constexpr std::array<std::string_view, 4> kRuntimePrefixes = {"cri-containerd-", "crio-",
                                                                       "docker-", "libpod-"};
  for (const std::string_view prefix : kRuntimePrefixes) {
    if (component.starts_with(prefix)) {
      component.remove_prefix(prefix.size());
      break;
    }
  }
  if (!is_container_id(component)) return std::nullopt;
  return component;
}

// The innermost id of one line (cgroup_path.h); none below a runtime's monitor.
std::optional<std::string_view> id_in_line(std::string_view line) {
  for (const auto component : cgroup_components_innermost_first(line)) {
    if (is_monitor(component)) return std::nullopt;
    if (const auto id = id_in_component(component)) return id;
  }
  return std::nullopt;
}

}  // namespace

bool is_container_id(std::string_view text) {
  return text.size() == kContainerIdLength && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::string> container_id_from_cgroup(std::string_view cgroup_file) {
  // Under cgroup v1 every controller has its line, and some may still be at `/`: any line names it.
  while (!cgroup_file.empty()) {
    const auto end = cgroup_file.find('\n');
    const std::string_view line = cgroup_file.substr(0, end);
    if (const auto id = id_in_line(line)) return std::string(*id);
    if (end == std::string_view::npos) break;
    cgroup_file.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::optional<std::string> container_id_of_process(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return container_id_from_cgroup(text.str());
}

}  // namespace profilis
