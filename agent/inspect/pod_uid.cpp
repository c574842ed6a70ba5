#include "agent/inspect/pod_uid.h"

#include <algorithm>

#include "agent/inspect/cgroup_path.h"

namespace profilis {
namespace {

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A UUID (8-4-4-4-12 hex digits, `separator` between the groups) as the API server makes pod
// uids, or 32 hex digits: the hash of its manifest that the kubelet gives a static pod.
bool is_pod_uid(std::string_view text, char separator) {
  if (text.size() == 32) return std::all_of(text.begin(), text.end(), is_lower_hex);
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != separator : !is_lower_hex(text[i])) return false;
  }
  return true;
}

// The uid in one path component: `pod<uid>` (cgroupfs driver), or `kubepods[-<qos>]-pod<uid>.slice`
// (systemd driver, which may not write '-' inside a name's part: the kubelet writes '_').
std::optional<std::string> uid_in_component(std::string_view component) {
  if (component.ends_with(".slice")) {
    component.remove_suffix(std::string_view(".slice").size());
    if (!component.starts_with("kubepods-")) return std::nullopt;
    const auto pod = component.rfind("-pod");
    if (pod == std::string_view::npos) return std::nullopt;
    component.remove_prefix(pod + 1);
    if (!component.starts_with("pod") || !is_pod_uid(component.substr(3), '_')) {
      return std::nullopt;
    }
    std::string uid(component.substr(3));
    std::replace(uid.begin(), uid.end(), '_', '-');
    return uid;
  }
  if (!component.starts_with("pod") || !is_pod_uid(component.substr(3), '-')) return std::nullopt;
  return std::string(component.substr(3));
}

// The innermost pod of one line (cgroup_path.h).
std::optional<std::string> uid_in_line(std::string_view line) {
  for (const auto component : cgroup_components_innermost_first(line)) {
    if (auto uid = uid_in_component(component)) return uid;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> pod_uid_from_cgroup(std::string_view cgroup_file) {
  // Under cgroup v1 some controllers' lines may still be at `/`: any line names it.
  while (!cgroup_file.empty()) {
    const auto end = cgroup_file.find('\n');
    if (auto uid = uid_in_line(cgroup_file.substr(0, end))) return uid;
    if (end == std::string_view::npos) break;
    cgroup_file.remove_prefix(end + 1);
  }
  return std::nullopt;
}

}  // namespace profilis
