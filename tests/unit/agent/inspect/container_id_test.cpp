#include "agent/inspect/container_id.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace profilis {
namespace {

// Ids as runtimes make them: 64 lowercase hex digits (sha256 of random bytes).
constexpr const char* kId = "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
constexpr const char* kNodeId = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
// A pod uid as the kubelet writes it in systemd slice names ('-' becomes '_').
constexpr const char* kPodSlice = "pod4b1f2c3d_5e6f_4a7b_8c9d_0e1f2a3b4c5d";

std::optional<std::string> parse(const std::string& text) { return container_id_from_cgroup(text); }

// containerd, cgroup v2, systemd driver: kubeadm's default since Kubernetes 1.22 (Debian 12,
// Ubuntu 22.04, EKS AL2023 and GKE COS nodes look like this).
TEST(ContainerId, shouldFindContainerdSystemdDriverOnCgroupV2) {
  const std::string text = std::string("0::/kubepods.slice/kubepods-burstable.slice/") +
                           "kubepods-burstable-" + kPodSlice + ".slice/cri-containerd-" + kId +
                           ".scope\n";
  EXPECT_EQ(parse(text), kId);
}

// The same with a Guaranteed pod (no QoS slice) and a BestEffort one.
TEST(ContainerId, shouldFindContainerdSystemdDriverOnCgroupV2InEachQosClass) {
  const std::string scope = std::string("/cri-containerd-") + kId + ".scope\n";
  EXPECT_EQ(parse(std::string("0::/kubepods.slice/kubepods-") + kPodSlice + ".slice" + scope), kId);
  EXPECT_EQ(parse(std::string("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-") +
                  kPodSlice + ".slice" + scope),
            kId);
}

// containerd, cgroup v2, cgroupfs driver (k3s on a v2 host): the id is a bare directory.
TEST(ContainerId, shouldFindContainerdCgroupfsDriverOnCgroupV2) {
  EXPECT_EQ(parse(std::string("0::/kubepods/besteffort/pod4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/") +
                  kId + "\n"),
            kId);
  EXPECT_EQ(
      parse(std::string("0::/kubepods/pod4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/") + kId + "\n"),
      kId);
}

// A hybrid host (Ubuntu 20.04, Debian 10 with systemd's default): v1 controllers with the
// container's path, and the v2 line (systemd's tracking only) at the same place.
TEST(ContainerId, shouldFindTheIdOnAHybridHost) {
  const std::string pod =
      std::string("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-") + kPodSlice +
      ".slice/cri-containerd-" + kId + ".scope";
  const std::string text = "12:freezer:" + pod + "\n11:pids:" + pod + "\n10:memory:" + pod +
                           "\n4:cpu,cpuacct:" + pod + "\n1:name=systemd:" + pod + "\n0::" + pod +
                           "\n";
  EXPECT_EQ(parse(text), kId);
}

// containerd, cgroup v1, cgroupfs driver (k3s and older kubeadm clusters): a line per controller,
// the id the last component.
TEST(ContainerId, shouldFindContainerdCgroupfsDriverOnCgroupV1) {
  const std::string pod =
      std::string("/kubepods/burstable/pod4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/") + kId;
  const std::string text = "12:hugetlb:" + pod + "\n11:pids:" + pod + "\n10:memory:" + pod +
                           "\n9:cpu,cpuacct:" + pod + "\n8:devices:" + pod +
                           "\n7:net_cls,net_prio:" + pod + "\n6:blkio:" + pod +
                           "\n5:freezer:" + pod + "\n4:perf_event:" + pod + "\n3:cpuset:" + pod +
                           "\n2:rdma:/\n1:name=systemd:" + pod + "\n0::/\n";
  EXPECT_EQ(parse(text), kId);
}

// containerd with `systemd_cgroup = true` on cgroup v1: runc's "slice:prefix:name" form, under
// containerd's own service.
TEST(ContainerId, shouldFindContainerdSystemdDriverOnCgroupV1) {
  const std::string path = std::string("/system.slice/containerd.service/kubepods-besteffort-") +
                           kPodSlice + ".slice:cri-containerd:" + kId;
  const std::string text =
      "11:memory:" + path + "\n4:pids:" + path + "\n1:name=systemd:" + path + "\n";
  EXPECT_EQ(parse(text), kId);
}

// CRI-O (OpenShift, cgroup v2, systemd driver). Its monitor `conmon` has a scope of its own that
// carries the same id, but is not the container.
TEST(ContainerId, shouldFindCrioButNotItsMonitor) {
  const std::string pod = std::string("0::/kubepods.slice/kubepods-besteffort.slice/") +
                          "kubepods-besteffort-" + kPodSlice + ".slice/";
  EXPECT_EQ(parse(pod + "crio-" + kId + ".scope\n"), kId);
  EXPECT_EQ(parse(pod + "crio-conmon-" + kId + ".scope\n"), std::nullopt);
}

// Docker: cgroupfs driver on cgroup v1 (`/docker/<id>`), systemd driver on v2 (Docker 20.10+ on
// Debian 11+).
TEST(ContainerId, shouldFindDocker) {
  const std::string v1 = std::string("12:memory:/docker/") + kId + "\n11:pids:/docker/" + kId +
                         "\n2:cpuset:/docker/" + kId + "\n1:name=systemd:/docker/" + kId +
                         "\n0::/system.slice/containerd.service\n";
  EXPECT_EQ(parse(v1), kId);
  EXPECT_EQ(parse(std::string("0::/system.slice/docker-") + kId + ".scope\n"), kId);
  // The systemd driver on cgroup v1 (Docker on CentOS 7 / RHEL 8).
  const std::string scope = std::string("/system.slice/docker-") + kId + ".scope";
  EXPECT_EQ(parse("11:pids:" + scope + "\n4:memory:" + scope + "\n1:name=systemd:" + scope + "\n"),
            kId);
}

// podman: rootful (`machine.slice`), rootless (under the user's manager, with the `container`
// sub-group of --systemd containers), and its conmon.
TEST(ContainerId, shouldFindPodmanButNotItsMonitor) {
  EXPECT_EQ(parse(std::string("0::/machine.slice/libpod-") + kId + ".scope\n"), kId);
  EXPECT_EQ(
      parse(std::string("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-") +
            kId + ".scope/container\n"),
      kId);
  EXPECT_EQ(parse(std::string("0::/machine.slice/libpod-conmon-") + kId + ".scope\n"),
            std::nullopt);
}

// A Kubernetes node that is itself a Docker container (kind): the pod's container is the innermost.
TEST(ContainerId, shouldPreferTheInnermostId) {
  const std::string text = std::string("1:name=systemd:/docker/") + kNodeId +
                           "/kubepods/besteffort/pod4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/" + kId +
                           "\n0::/\n";
  EXPECT_EQ(parse(text), kId);
}

// Host processes: systemd's own, a login session, the runtimes' daemons, a root cgroup, and this
// project's CI sandbox (a 32-hex group that is no container id).
TEST(ContainerId, shouldFindNoneForHostProcesses) {
  for (const char* text :
       {"0::/init.scope\n", "0::/user.slice/user-1000.slice/session-2.scope\n",
        "0::/system.slice/containerd.service\n", "0::/system.slice/docker.service\n", "0::/\n",
        "12:memory:/\n11:pids:/\n1:name=systemd:/init.scope\n0::/\n",
        "4:memory:/process_api/3b99126cbebb61151ab85b8ac0e1b0d7\n0::/\n", ""}) {
    EXPECT_EQ(parse(text), std::nullopt) << text;
  }
}

TEST(ContainerId, shouldRejectWhatIsNotExactlyAnId) {
  const std::string id(kId);
  EXPECT_EQ(parse("0::/docker/" + id.substr(1) + "\n"), std::nullopt);  // 63 digits
  EXPECT_EQ(parse("0::/docker/" + id + "0\n"), std::nullopt);           // 65
  std::string upper = id;
  upper[0] = 'D';
  EXPECT_EQ(parse("0::/docker/" + upper + "\n"), std::nullopt);
  EXPECT_EQ(parse("no colons " + id + "\n"), std::nullopt);
  EXPECT_EQ(parse("0::/system.slice/docker-" + id + ".service\n"), std::nullopt);
}

TEST(ContainerId, shouldReadALiveProcesssFile) {
  // This test's own process, whatever it runs in: the same answer as its file's text.
  std::ifstream file("/proc/self/cgroup");
  std::ostringstream text;
  text << file.rdbuf();
  EXPECT_EQ(container_id_of_process(getpid()), parse(text.str()));
  EXPECT_EQ(container_id_of_process(-1), std::nullopt);
}

}  // namespace
}  // namespace profilis
