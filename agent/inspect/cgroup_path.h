// The parts of one /proc/PID/cgroup line that the container id and the pod uid are read from.
#pragma once

#include <string_view>
#include <vector>

namespace profilis {

// The components of a line `hierarchy:controllers:path`, innermost first, split at '/' and at ':'
// (containerd's systemd driver under cgroup v1 writes `…pod<uid>.slice:cri-containerd:<id>`).
// Empty for a line that is not of that form. The innermost match wins for both readers: a
// Kubernetes node that is itself a container (kind) has its own id and pod above the pod's.
std::vector<std::string_view> cgroup_components_innermost_first(std::string_view line);

}  // namespace profilis
