// A cgroup named as a container runtime names one, made by a test on the cgroup v2 hierarchy, so
// that the agent finds a container (and a pod) in a fixture's /proc/PID/cgroup.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace profilis::e2e {

class ContainerCgroup {
 public:
  // `path`: below a group of this test's own, e.g. "kubepods-burstable-pod<uid>.slice/
  // cri-containerd-<id>.scope". Nothing is made yet.
  explicit ContainerCgroup(std::string path);
  // Removes the groups, which must be empty by then (their processes reaped).
  ~ContainerCgroup();
  ContainerCgroup(const ContainerCgroup&) = delete;
  ContainerCgroup& operator=(const ContainerCgroup&) = delete;

  // Makes the groups and moves `pid` into the innermost; an empty text, or why it failed.
  std::string move_in(pid_t pid);

 private:
  std::filesystem::path top_;  // this test's own group
  std::filesystem::path leaf_;
};

}  // namespace profilis::e2e
