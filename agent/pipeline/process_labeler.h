// The labels of each traced process (process_labels.h), read from /proc the first time one of its
// events is decoded: with --node and --binary, processes appear while the agent runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/inspect/kubelet_logs.h"
#include "agent/pipeline/process_labels.h"

namespace profilis {

struct ProcessLabelerOptions {
  std::string service = {};  // --service; empty: each process's comm
  std::filesystem::path proc_root = "/proc";
  KubeletLogDirs kubelet = {};
  // Processes whose exit is not reported (forget() not called) would otherwise stay for good.
  // A node runs far fewer traced processes at once; one pushed out is read again when next seen.
  std::size_t max_processes = 16384;
};

// One thread at a time (the decoder's).
class ProcessLabeler {
 public:
  explicit ProcessLabeler(ProcessLabelerOptions options = {});

  // `pid`'s labels: computed on its first call from <proc_root>/PID/comm and /cgroup and the
  // kubelet's log directories, then cached. A container the kubelet's directories do not name (or
  // not its container name) is looked up again on later calls: its log link may be made after it
  // starts (KubernetesMetadata lists at most once a second). `comm` (the record's) is the service
  // when there is no --service and the process is gone; a process gone is not cached (its events
  // still in the ring buffer after its exit would leave an entry nothing forgets), and has no
  // container labels. Valid until the next call.
  const ProcessLabels& labels(pid_t pid, std::string_view comm);

  // Drops `pid`'s labels: call it when the process has exited, so that a new process reusing the
  // pid is read afresh. Best after the ring buffer has no more of its events (see labels()).
  void forget(pid_t pid);

  std::size_t cached() const { return cache_.size(); }

 private:
  struct Entry {
    ProcessLabels labels;
    std::string pod_uid;  // empty outside pods
    // While the k8s_* labels are incomplete: when to look again, so that the events between
    // cost no lookup.
    std::chrono::steady_clock::time_point look_again_at;
  };

  // None when the process is gone.
  std::optional<Entry> read(pid_t pid);
  // Fills the k8s_* labels of a container's entry, when the kubelet's directories name it.
  void find_kubernetes(Entry& entry);

  ProcessLabelerOptions options_;
  KubernetesMetadata kubernetes_;
  std::unordered_map<pid_t, Entry> cache_;
  ProcessLabels gone_;  // labels() of a process that is gone
};

}  // namespace profilis
