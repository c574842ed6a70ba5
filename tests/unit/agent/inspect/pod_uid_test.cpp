#include "agent/inspect/pod_uid.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace profilis {
namespace {

constexpr const char* kId = "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
constexpr const char* kUid = "4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
// The same uid in a systemd slice name: the kubelet writes '_' for '-'.
constexpr const char* kSliceUid = "4b1f2c3d_5e6f_4a7b_8c9d_0e1f2a3b4c5d";

std::optional<std::string> parse(const std::string& text) { return pod_uid_from_cgroup(text); }

// containerd, cgroup v2, systemd driver, for each QoS class: a Guaranteed pod has no QoS slice.
TEST(PodUid, shouldFindTheUidInSystemdSlicesOfEachQosClass) {
  const std::string scope = std::string("/cri-containerd-") + kId + ".scope\n";
  EXPECT_EQ(
      parse(std::string("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod") +
            kSliceUid + ".slice" + scope),
      kUid);
  EXPECT_EQ(parse(std::string("0::/kubepods.slice/kubepods-besteffort.slice/") +
                  "kubepods-besteffort-pod" + kSliceUid + ".slice" + scope),
            kUid);
  EXPECT_EQ(parse(std::string("0::/kubepods.slice/kubepods-pod") + kSliceUid + ".slice" + scope),
            kUid);
}

// The cgroupfs driver (k3s, older kubeadm) on cgroup v2 and v1; CRI-O's systemd scopes too.
TEST(PodUid, shouldFindTheUidInCgroupfsPaths) {
  EXPECT_EQ(parse(std::string("0::/kubepods/burstable/pod") + kUid + "/" + kId + "\n"), kUid);
  EXPECT_EQ(parse(std::string("0::/kubepods/pod") + kUid + "/" + kId + "\n"), kUid);
  const std::string pod = std::string("/kubepods/besteffort/pod") + kUid + "/" + kId;
  EXPECT_EQ(parse("12:pids:" + pod + "\n11:memory:" + pod + "\n2:rdma:/\n1:name=systemd:" + pod +
                  "\n0::/\n"),
            kUid);
  EXPECT_EQ(
      parse(std::string("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod") +
            kSliceUid + ".slice/crio-conmon-" + kId + ".scope\n"),
      kUid);  // conmon is in the pod, if not in the container
}

// containerd's systemd driver on cgroup v1 (runc's "slice:prefix:name").
TEST(PodUid, shouldFindTheUidInRuncsColonForm) {
  const std::string path = std::string("/system.slice/containerd.service/kubepods-besteffort-pod") +
                           kSliceUid + ".slice:cri-containerd:" + kId;
  EXPECT_EQ(parse("11:memory:" + path + "\n1:name=systemd:" + path + "\n"), kUid);
}

// A static pod's uid is the hash of its manifest: 32 hex digits.
TEST(PodUid, shouldFindAStaticPodsUid) {
  const std::string uid = "5b4d0d5e9a3f3ab0f7a0b1d3c0e7d2f1";
  EXPECT_EQ(parse("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid +
                  ".slice/cri-containerd-" + kId + ".scope\n"),
            uid);
}

TEST(PodUid, shouldFindNoneOutsidePods) {
  for (const std::string& text :
       {std::string("0::/system.slice/docker-") + kId + ".scope\n", std::string("0::/init.scope\n"),
        std::string("0::/kubepods.slice/kubepods-burstable.slice\n"),  // the QoS level only
        std::string("0::/kubepods/burstable/pod") + std::string(kUid).substr(1) + "\n",
        std::string("0::/kubepods/burstable/pod") + kSliceUid + "\n",  // '_' outside a slice
        std::string("0::/user.slice/pod") + kUid + ".slice\n",         // not the kubelet's
        std::string("0::/\n"), std::string()}) {
    EXPECT_EQ(parse(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace profilis
