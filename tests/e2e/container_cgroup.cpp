#include "tests/e2e/container_cgroup.h"

#include <unistd.h>

#include <fstream>
#include <system_error>

namespace profilis::e2e {
namespace fs = std::filesystem;
namespace {

// The cgroup v2 hierarchy: alone at /sys/fs/cgroup, or beside v1's controllers (hybrid).
fs::path unified_hierarchy() {
  for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    if (fs::exists(fs::path(root) / "cgroup.procs") && !fs::exists(fs::path(root) / "tasks")) {
      return root;
    }
  }
  return {};
}

}  // namespace

ContainerCgroup::ContainerCgroup(std::string path) {
  const fs::path unified = unified_hierarchy();
  if (unified.empty()) return;
  top_ = unified / ("profilis-e2e-" + std::to_string(::getpid()));
  leaf_ = top_ / path;
}

ContainerCgroup::~ContainerCgroup() {
  std::error_code error;
  for (fs::path group = leaf_; !group.empty() && group != top_.parent_path();
       group = group.parent_path()) {
    fs::remove(group, error);  // rmdir: a cgroup's files go with it
  }
}

std::string ContainerCgroup::move_in(pid_t pid) {
  if (leaf_.empty()) return "no cgroup v2 hierarchy under /sys/fs/cgroup";
  std::error_code error;
  fs::create_directories(leaf_, error);
  if (error) return leaf_.string() + ": " + error.message();
  std::ofstream procs(leaf_ / "cgroup.procs");
  procs << pid << std::flush;
  if (!procs.good()) return "could not move " + std::to_string(pid) + " into " + leaf_.string();
  return {};
}

}  // namespace profilis::e2e
