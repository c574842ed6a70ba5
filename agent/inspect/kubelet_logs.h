// Kubernetes metadata without the API server: the kubelet names each container's log after its
// pod, namespace, container and container id, and each pod's log directory after its namespace,
// name and uid (docs/design.md §3 `k8s_*`). A node agent that reads these names needs no API
// access, and its memory grows with the node's containers, not the cluster's.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace profilis {

struct KubernetesContainer {
  std::string pod;
  std::string pod_namespace;
  std::string container;     // empty when it cannot be known (found by the pod's uid only)
  std::string container_id;  // 64 hex digits, the one /proc/PID/cgroup names

  bool operator==(const KubernetesContainer&) const = default;
};

// The name of a file of /var/log/containers, `<pod>_<namespace>_<container>-<container id>.log`;
// none for any other name. Pod, namespace and container names are DNS names: they may hold '-'
// and '.', never '_'.
std::optional<KubernetesContainer> parse_container_log_name(std::string_view file_name);

struct KubernetesPod {
  std::string pod_namespace;
  std::string pod;
  std::string uid;

  bool operator==(const KubernetesPod&) const = default;
};

// The name of a directory of /var/log/pods, `<namespace>_<pod>_<pod uid>`; none for any other.
std::optional<KubernetesPod> parse_pod_log_dir_name(std::string_view dir_name);

// Where the host's kubelet log directories are (mounted read-only into a DaemonSet's pod).
struct KubeletLogDirs {
  std::filesystem::path containers = "/var/log/containers";
  std::filesystem::path pods = "/var/log/pods";

  // The defaults, or the directories PROFILIS_KUBELET_LOG_DIR and PROFILIS_KUBELET_PODS_DIR name
  // when set and not empty (where a DaemonSet mounts them elsewhere; the tests' own trees).
  static KubeletLogDirs from_environment();
};

// How often the directories may be listed again for an id not found in them.
inline constexpr std::chrono::seconds kKubeletRelistInterval{1};

// Container id → its pod, namespace and container, from the names in the kubelet's log
// directories. First the links of /var/log/containers, which name all four. When the id is not
// there (the link is not made yet, or that directory is not mounted) and the pod's uid is known
// (pod_uid.h), the pod's directory of /var/log/pods names the namespace and pod; the container
// only when the pod has one container directory, which is then this one's: the kubelet makes a
// container's directory before it starts the container.
//
// Each directory is listed on the first question that needs it, and again when an id (or uid) it
// does not know is asked for (a container started since), but at most once per
// `min_relist_interval`: most ids asked about on a node may be of host processes, which are never
// there. One thread at a time.
class KubernetesMetadata {
 public:
  using Clock = std::chrono::steady_clock;

  explicit KubernetesMetadata(KubeletLogDirs directories = {},
                              Clock::duration min_relist_interval = kKubeletRelistInterval,
                              std::function<Clock::time_point()> now = Clock::now);

  // None when neither directory names the container (also when they do not exist: not
  // Kubernetes). `pod_uid` may be empty: unknown.
  std::optional<KubernetesContainer> find(std::string_view container_id,
                                          std::string_view pod_uid = {});

  // How many times each directory has been listed.
  std::size_t listings() const { return listings_; }
  std::size_t pod_listings() const { return pod_listings_; }

 private:
  bool may_relist(const std::optional<Clock::time_point>& listed_at) const;
  void list();
  void list_pods();
  std::optional<KubernetesContainer> find_by_pod(std::string_view container_id,
                                                 std::string_view pod_uid);

  KubeletLogDirs directories_;
  Clock::duration min_relist_interval_;
  std::function<Clock::time_point()> now_;
  std::unordered_map<std::string, KubernetesContainer> by_id_;
  std::unordered_map<std::string, KubernetesPod> pods_by_uid_;
  std::optional<Clock::time_point> listed_at_;
  std::optional<Clock::time_point> pods_listed_at_;
  std::size_t listings_ = 0;
  std::size_t pod_listings_ = 0;
};

}  // namespace profilis
