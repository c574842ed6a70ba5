// The container a process runs in, from its /proc/PID/cgroup: the `container_id` of
// docs/design.md §3.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace profilis {

inline constexpr std::size_t kContainerIdLength = 64;

// 64 lowercase hex digits: how containerd, CRI-O, Docker and podman all write an id.
bool is_container_id(std::string_view text);

// The 64-hex-digit container id that the text of a /proc/PID/cgroup file names (cgroup v1 or v2;
// containerd, CRI-O, Docker, podman; systemd or cgroupfs driver), or none for a process outside
// containers. A container runtime's monitor (`crio-conmon-…`, `libpod-conmon-…`) is not in the
// container it watches: none for it.
std::optional<std::string> container_id_from_cgroup(std::string_view cgroup_file);

// The same for a live process. None also when its file cannot be read (the process has exited).
// The paths are those of the reader's cgroup namespace: an agent in a container's own namespace
// sees `0::/` and finds no id, so a DaemonSet must run in the host's.
std::optional<std::string> container_id_of_process(pid_t pid);

}  // namespace profilis
