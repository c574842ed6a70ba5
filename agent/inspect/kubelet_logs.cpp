#include "agent/inspect/kubelet_logs.h"

#include <algorithm>
#include <array>
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

KubernetesMetadata::KubernetesMetadata(std::filesystem::path directory,
                                       Clock::duration min_relist_interval,
                                       std::function<Clock::time_point()> now)
    : directory_(std::move(directory)),
      min_relist_interval_(min_relist_interval),
      now_(std::move(now)) {}

std::optional<KubernetesContainer> KubernetesMetadata::find(std::string_view container_id) {
  const std::string key(container_id);
  if (!listed_at_) list();
  auto found = by_id_.find(key);
  if (found == by_id_.end() && now_() - *listed_at_ >= min_relist_interval_) {
    list();
    found = by_id_.find(key);
  }
  if (found == by_id_.end()) return std::nullopt;
  return found->second;
}

void KubernetesMetadata::list() {
  listed_at_ = now_();
  ++listings_;
  // Containers gone since are forgotten: their ids are not asked for again.
  by_id_.clear();
  std::error_code error;
  // The entries are symlinks into /var/log/pods, possibly dangling: only their names are read.
  for (std::filesystem::directory_iterator it(directory_, error), end; !error && it != end;
       it.increment(error)) {
    if (auto container = parse_container_log_name(it->path().filename().native())) {
      by_id_.insert_or_assign(container->container_id, std::move(*container));
    }
  }
}

}  // namespace profilis
