// A fake /proc and kubelet log tree in a temporary directory, for the tests of what reads them.
#pragma once

#include <stdlib.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "agent/pipeline/process_labeler.h"

namespace profilis {

class FakeProc {
 public:
  FakeProc() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fake_proc.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
    for (const char* dir : {"proc", "containers", "pods"}) {
      std::filesystem::create_directory(root_ / dir);
    }
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  // A process: its comm (the kernel's file ends in a newline) and cgroup files.
  void process(pid_t pid, const std::string& comm, const std::string& cgroup) {
    const auto dir = root_ / "proc" / std::to_string(pid);
    std::filesystem::create_directory(dir);
    std::ofstream(dir / "comm") << comm << '\n';
    std::ofstream(dir / "cgroup") << cgroup;
  }
  void exit(pid_t pid) { std::filesystem::remove_all(root_ / "proc" / std::to_string(pid)); }

  // The kubelet's link in /var/log/containers, `<pod>_<namespace>_<container>-<id>.log`.
  void log_link(const std::string& name) {
    std::filesystem::create_symlink("/var/log/pods/x/y/0.log", root_ / "containers" / name);
  }
  // A pod's directory in /var/log/pods, `<namespace>_<pod>_<uid>`, with its containers' ones.
  void pod_dir(const std::string& name, std::initializer_list<const char*> containers) {
    std::filesystem::create_directory(root_ / "pods" / name);
    for (const char* c : containers) std::filesystem::create_directory(root_ / "pods" / name / c);
  }

  ProcessLabelerOptions options(std::string service = {}) const {
    return {.service = std::move(service),
            .proc_root = root_ / "proc",
            .kubelet = {.containers = root_ / "containers", .pods = root_ / "pods"}};
  }

 private:
  std::filesystem::path root_;
};

}  // namespace profilis
