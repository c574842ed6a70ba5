// The Kubernetes pod a process runs in, from its /proc/PID/cgroup: the kubelet names each pod's
// cgroup after the pod's uid, and names the pod's log directory after it too (kubelet_logs.h). That
// finds the pod when its container's log link cannot be found.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace profilis {

// The uid of the pod whose cgroup the text of a /proc/PID/cgroup file names, as the API server and
// /var/log/pods write it (`4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d`; a static pod's is 32 hex digits),
// or none outside pods. Both drivers: cgroupfs `/kubepods/burstable/pod<uid>/…`, systemd
// `kubepods-burstable-pod<uid with '_' for '-'>.slice` (a Guaranteed pod has no QoS level:
// `kubepods-pod<uid>.slice`, `/kubepods/pod<uid>/`); cgroup v1 or v2.
std::optional<std::string> pod_uid_from_cgroup(std::string_view cgroup_file);

}  // namespace profilis
