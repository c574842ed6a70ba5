#include "agent/inspect/kubelet_logs.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <system_error>

#include "agent/inspect/container_id.h"

namespace profilis {
namespace {

// `a_b_c` split at its two '_', each part non-empty; none for any other count.
std::optional<std::array<std::string_view, 3>> three_names(std::string_view text) {
  const auto first = text.find('_');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find('_', first + 1);
  if (second == std::string_view::npos || text.find('_', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  std::array<std::string_view, 3> parts = {
      text.substr(0, first), text.substr(first + 1, second - first - 1), text.substr(second + 1)};
  if (std::any_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); })) {
    return std::nullopt;
  }
  return parts;
}

}  // namespace

std::optional<KubernetesContainer> parse_container_log_name(std::string_view file_name) {
  constexpr std::string_view kSuffix = ".log";
  if (!file_name.ends_with(kSuffix)) return std::nullopt;
  file_name.remove_suffix(kSuffix.size());
  // The container name may end in what looks like an id's digits: the id is the fixed-length tail.
  if (file_name.size() < kContainerIdLength + 1) return std::nullopt;
  const std::string_view id = file_name.substr(file_name.size() - kContainerIdLength);
  file_name.remove_suffix(kContainerIdLength);
  if (!is_container_id(id) || !file_name.ends_with('-')) return std::nullopt;
  file_name.remove_suffix(1);
  const auto names = three_names(file_name);
  if (!names) return std::nullopt;
  return KubernetesContainer{.pod = std::string((*names)[0]),
                             .pod_namespace = std::string((*names)[1]),
                             .container = std::string((*names)[2]),
                             .container_id = std::string(id)};
}

std::optional<KubernetesPod> parse_pod_log_dir_name(std::string_view dir_name) {
  const auto names = three_names(dir_name);
  if (!names) return std::nullopt;
  return KubernetesPod{.pod_namespace = std::string((*names)[0]),
                       .pod = std::string((*names)[1]),
                       .uid = std::string((*names)[2])};
}

KubeletLogDirs KubeletLogDirs::from_environment() {
  KubeletLogDirs directories;
  if (const char* dir = std::getenv("PROFILIS_KUBELET_LOG_DIR"); dir != nullptr && *dir != '\0') {
    directories.containers = dir;
  }
  if (const char* dir = std::getenv("PROFILIS_KUBELET_PODS_DIR"); dir != nullptr && *dir != '\0') {
    directories.pods = dir;
  }
  return directories;
}

KubernetesMetadata::KubernetesMetadata(KubeletLogDirs directories,
                                       Clock::duration min_relist_interval,
                                       std::function<Clock::time_point()> now)
    : directories_(std::move(directories)),
      min_relist_interval_(min_relist_interval),
      now_(std::move(now)) {}

std::optional<KubernetesContainer> KubernetesMetadata::find(std::string_view container_id,
                                                            std::string_view pod_uid) {
  const std::string key(container_id);
  auto found = by_id_.find(key);
  if (found == by_id_.end() && may_relist(listed_at_)) {
    list();
    found = by_id_.find(key);
  }
  if (found != by_id_.end()) return found->second;
  if (pod_uid.empty()) return std::nullopt;
  return find_by_pod(container_id, pod_uid);
}

bool KubernetesMetadata::may_relist(const std::optional<Clock::time_point>& listed_at) const {
  return !listed_at || now_() - *listed_at >= min_relist_interval_;
}

void KubernetesMetadata::list() {
  listed_at_ = now_();
  ++listings_;
  // Containers gone since are forgotten: their ids are not asked for again.
  by_id_.clear();
  std::error_code error;
  // The entries are symlinks into /var/log/pods, possibly dangling: only their names are read.
  for (std::filesystem::directory_iterator it(directories_.containers, error), end;
       !error && it != end; it.increment(error)) {
    if (auto container = parse_container_log_name(it->path().filename().native())) {
      by_id_.insert_or_assign(container->container_id, std::move(*container));
    }
  }
}

void KubernetesMetadata::list_pods() {
  pods_listed_at_ = now_();
  ++pod_listings_;
  pods_by_uid_.clear();
  std::error_code error;
  for (std::filesystem::directory_iterator it(directories_.pods, error), end; !error && it != end;
       it.increment(error)) {
    if (auto pod = parse_pod_log_dir_name(it->path().filename().native())) {
      pods_by_uid_.insert_or_assign(pod->uid, std::move(*pod));
    }
  }
}

std::optional<KubernetesContainer> KubernetesMetadata::find_by_pod(std::string_view container_id,
                                                                   std::string_view pod_uid) {
  const std::string key(pod_uid);
  auto found = pods_by_uid_.find(key);
  if (found == pods_by_uid_.end() && may_relist(pods_listed_at_)) {
    list_pods();
    found = pods_by_uid_.find(key);
  }
  if (found == pods_by_uid_.end()) return std::nullopt;
  const KubernetesPod& pod = found->second;
  KubernetesContainer container{.pod = pod.pod,
                                .pod_namespace = pod.pod_namespace,
                                .container = {},
                                .container_id = std::string(container_id)};
  // Read now, not when listed: the directory of a container started since may be new. Init
  // containers and sidecars have directories too, so a pod with several names none of them.
  std::size_t containers = 0;
  std::string name;
  std::error_code error;
  const auto pod_dir = directories_.pods / (pod.pod_namespace + "_" + pod.pod + "_" + pod.uid);
  for (std::filesystem::directory_iterator it(pod_dir, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code type_error;
    if (it->is_directory(type_error)) {
      ++containers;
      name = it->path().filename().native();
    }
  }
  if (containers == 1) container.container = std::move(name);
  return container;
}

}  // namespace profilis
