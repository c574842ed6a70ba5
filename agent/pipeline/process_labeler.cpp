#include "agent/pipeline/process_labeler.h"

#include <fstream>
#include <optional>
#include <sstream>

#include "agent/inspect/container_id.h"
#include "agent/inspect/pod_uid.h"

namespace profilis {
namespace {

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return text.str();
}

}  // namespace

ProcessLabeler::ProcessLabeler(ProcessLabelerOptions options)
    : options_(std::move(options)), kubernetes_(options_.kubelet) {}

const ProcessLabels& ProcessLabeler::labels(pid_t pid, std::string_view comm) {
  if (const auto found = cache_.find(pid); found != cache_.end()) {
    Entry& entry = found->second;
    if (!entry.labels.container_id.empty() && entry.labels.k8s_container.empty() &&
        std::chrono::steady_clock::now() >= entry.look_again_at) {
      find_kubernetes(entry);
    }
    return entry.labels;
  }
  std::optional<Entry> entry = read(pid);
  if (!entry) {
    gone_.service.assign(options_.service.empty() ? comm : std::string_view(options_.service));
    return gone_;
  }
  // Any entry: the cache is full only when exits go unreported, and then none is likelier live.
  if (cache_.size() >= options_.max_processes) cache_.erase(cache_.begin());
  return cache_.emplace(pid, std::move(*entry)).first->second.labels;
}

void ProcessLabeler::forget(pid_t pid) { cache_.erase(pid); }

std::optional<ProcessLabeler::Entry> ProcessLabeler::read(pid_t pid) {
  const std::filesystem::path dir = options_.proc_root / std::to_string(pid);
  std::optional<std::string> comm = read_text(dir / "comm");
  const std::optional<std::string> cgroup = read_text(dir / "cgroup");
  if (!comm || !cgroup) return std::nullopt;
  if (comm->ends_with('\n')) comm->pop_back();
  Entry entry;
  entry.labels.service = options_.service.empty() ? std::move(*comm) : options_.service;
  // A process does not change container: read once.
  entry.labels.container_id = container_id_from_cgroup(*cgroup).value_or("");
  if (entry.labels.container_id.empty()) return entry;
  entry.pod_uid = pod_uid_from_cgroup(*cgroup).value_or("");
  find_kubernetes(entry);
  return entry;
}

void ProcessLabeler::find_kubernetes(Entry& entry) {
  entry.look_again_at = std::chrono::steady_clock::now() + kKubeletRelistInterval;
  auto container = kubernetes_.find(entry.labels.container_id, entry.pod_uid);
  if (!container) return;
  entry.labels.k8s_namespace = std::move(container->pod_namespace);
  entry.labels.k8s_pod = std::move(container->pod);
  entry.labels.k8s_container = std::move(container->container);
}

}  // namespace profilis
