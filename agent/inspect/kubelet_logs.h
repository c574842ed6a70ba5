// Kubernetes metadata without the API server: the kubelet names each container's log after its
// pod, namespace, container and container id (docs/design.md §3 `k8s_*`). A node agent that reads
// these names needs no API access, and its memory grows with the node's containers, not the
// cluster's.
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
  std::string container;
  std::string container_id;  // 64 hex digits, the one /proc/PID/cgroup names

  bool operator==(const KubernetesContainer&) const = default;
};

// The name of a file of /var/log/containers, `<pod>_<namespace>_<container>-<container id>.log`;
// none for any other name. Pod, namespace and container names are DNS names: they may hold '-'
// and '.', never '_'.
std::optional<KubernetesContainer> parse_container_log_name(std::string_view file_name);

// Container id → its pod, namespace and container, from the names in a /var/log/containers
// directory. Listed on the first question, and again when an id it does not know is asked for
// (a container started since), but at most once per `min_relist_interval`: most ids asked about
// on a node may be of host processes, which are never there. One thread at a time.
class KubernetesMetadata {
 public:
  using Clock = std::chrono::steady_clock;

  explicit KubernetesMetadata(std::filesystem::path directory = "/var/log/containers",
                              Clock::duration min_relist_interval = std::chrono::seconds(1),
                              std::function<Clock::time_point()> now = Clock::now);

  // None for an id no log file names (also when the directory does not exist: not Kubernetes).
  std::optional<KubernetesContainer> find(std::string_view container_id);

  // How many times the directory has been listed.
  std::size_t listings() const { return listings_; }

 private:
  void list();

  std::filesystem::path directory_;
  Clock::duration min_relist_interval_;
  std::function<Clock::time_point()> now_;
  std::unordered_map<std::string, KubernetesContainer> by_id_;
  std::optional<Clock::time_point> listed_at_;
  std::size_t listings_ = 0;
};

}  // namespace profilis
