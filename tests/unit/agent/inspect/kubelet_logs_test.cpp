#include "agent/inspect/kubelet_logs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace profilis {
namespace {

namespace fs = std::filesystem;

constexpr const char* kId = "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
constexpr const char* kOtherId = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr const char* kUid = "4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

std::string log_name(const std::string& stem, const std::string& id = kId) {
  return stem + "-" + id + ".log";
}

KubernetesContainer container(std::string pod, std::string ns, std::string name,
                              std::string id = kId) {
  return {.pod = std::move(pod),
          .pod_namespace = std::move(ns),
          .container = std::move(name),
          .container_id = std::move(id)};
}

// Names as a kubeadm node's /var/log/containers has them: a Deployment's pod (ReplicaSet hash and
// random suffix), a DaemonSet's, and a static pod named after its node's DNS name (dots).
TEST(KubeletLogs, shouldParseContainerLogNames) {
  EXPECT_EQ(parse_container_log_name(log_name("coredns-5d78c9869d-x7k2p_kube-system_coredns")),
            container("coredns-5d78c9869d-x7k2p", "kube-system", "coredns"));
  EXPECT_EQ(parse_container_log_name(log_name("kube-proxy-8xq4z_kube-system_kube-proxy")),
            container("kube-proxy-8xq4z", "kube-system", "kube-proxy"));
  EXPECT_EQ(parse_container_log_name(log_name("etcd-cp-1.eu-west.example.com_kube-system_etcd")),
            container("etcd-cp-1.eu-west.example.com", "kube-system", "etcd"));
  EXPECT_EQ(parse_container_log_name(
                log_name("checkout-api.v2-7f9c6b5d4-qz8mn_shop-prod_istio-proxy", kOtherId)),
            container("checkout-api.v2-7f9c6b5d4-qz8mn", "shop-prod", "istio-proxy", kOtherId));
}

// A container name may end in hex digits and dashes: the id is the fixed-length tail.
TEST(KubeletLogs, shouldTakeTheIdFromTheTailOnly) {
  EXPECT_EQ(parse_container_log_name(log_name("web-0_default_cafe-0123abcd")),
            container("web-0", "default", "cafe-0123abcd"));
}

TEST(KubeletLogs, shouldRejectOtherNames) {
  const std::string id(kId);
  for (const std::string& name :
       std::vector<std::string>{"web-0_default_app-" + id,             // no .log
                                "web-0_default_app-" + id + ".log.1",  // not the kubelet's link
                                "web-0_default_app-" + id.substr(1) + ".log",  // 63 digits
                                "web-0_default_app" + id + ".log",   // no '-' before the id
                                "web-0_default-app-" + id + ".log",  // two names
                                "web_0_default_app-" + id + ".log",  // four
                                "web-0__app-" + id + ".log",         // an empty namespace
                                "_default_app-" + id + ".log", "web-0_default_-" + id + ".log",
                                "-" + id + ".log", ".log", "", "README"}) {
    EXPECT_EQ(parse_container_log_name(name), std::nullopt) << name;
  }
  std::string upper = log_name("web-0_default_app");
  upper[upper.size() - 5] = 'E';
  EXPECT_EQ(parse_container_log_name(upper), std::nullopt);
}

// Directory names as the kubelet makes them: namespace first, then pod, then uid (a UUID, or a
// static pod's 32-hex hash).
TEST(KubeletLogs, shouldParsePodLogDirectoryNames) {
  EXPECT_EQ(parse_pod_log_dir_name(
                "kube-system_coredns-5d78c9869d-x7k2p_4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
            (KubernetesPod{.pod_namespace = "kube-system",
                           .pod = "coredns-5d78c9869d-x7k2p",
                           .uid = "4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}));
  EXPECT_EQ(
      parse_pod_log_dir_name("kube-system_etcd-cp-1.example.com_5b4d0d5e9a3f3ab0f7a0b1d3c0e7d2f1"),
      (KubernetesPod{.pod_namespace = "kube-system",
                     .pod = "etcd-cp-1.example.com",
                     .uid = "5b4d0d5e9a3f3ab0f7a0b1d3c0e7d2f1"}));
  for (const char* name : {"kube-system_coredns", "a_b_c_d", "_pod_uid", "ns__uid", ""}) {
    EXPECT_EQ(parse_pod_log_dir_name(name), std::nullopt) << name;
  }
}

class KubernetesMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kubelet_logs_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // As the kubelet does: a symlink to the pod's log, which may already be gone (dangling).
  void link(const std::string& name) {
    fs::create_symlink("/var/log/pods/ns_pod_uid/container/0.log", dir_ / name);
  }
  void file(const std::string& name) { std::ofstream(dir_ / name).put('\n'); }

  // As the kubelet does: a pod's directory in /var/log/pods, a directory per container in it.
  void pod_dir(const std::string& name, std::initializer_list<const char*> containers) {
    fs::create_directories(pods_dir() / name);
    for (const char* container : containers) {
      fs::create_directory(pods_dir() / name / container);
      std::ofstream(pods_dir() / name / container / "0.log").put('\n');
    }
  }
  fs::path pods_dir() const { return dir_ / "pods"; }

  KubernetesMetadata metadata(std::chrono::seconds min_relist_interval = std::chrono::seconds(1)) {
    return KubernetesMetadata({.containers = dir_, .pods = pods_dir()}, min_relist_interval,
                              [this] { return now_; });
  }

  fs::path dir_;
  KubernetesMetadata::Clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(KubernetesMetadataTest, shouldFindContainersByIdFromLinksAndFiles) {
  link(log_name("coredns-5d78c9869d-x7k2p_kube-system_coredns"));
  file(log_name("etcd-cp-1.example.com_kube-system_etcd", kOtherId));
  file("unrelated.txt");
  KubernetesMetadata k8s = metadata();
  EXPECT_EQ(k8s.listings(), 0u);  // lazily: nothing read before the first question
  EXPECT_EQ(k8s.find(kId), container("coredns-5d78c9869d-x7k2p", "kube-system", "coredns"));
  EXPECT_EQ(k8s.find(kOtherId),
            container("etcd-cp-1.example.com", "kube-system", "etcd", kOtherId));
  EXPECT_EQ(k8s.listings(), 1u);
}

TEST_F(KubernetesMetadataTest, shouldRelistForANewContainerAtMostOncePerInterval) {
  link(log_name("web-0_default_app"));
  KubernetesMetadata k8s = metadata();
  EXPECT_EQ(k8s.find(kOtherId), std::nullopt);
  EXPECT_EQ(k8s.listings(), 1u);

  // A host process's id, asked for again and again within the interval: no new listing.
  link(log_name("web-1_default_app", kOtherId));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(k8s.find(kOtherId), std::nullopt);
  EXPECT_EQ(k8s.listings(), 1u);

  // Past the interval, the new container is found; a known id never relists.
  now_ += std::chrono::seconds(1);
  EXPECT_EQ(k8s.find(kOtherId), container("web-1", "default", "app", kOtherId));
  EXPECT_EQ(k8s.listings(), 2u);
  now_ += std::chrono::seconds(5);
  EXPECT_EQ(k8s.find(kId), container("web-0", "default", "app"));
  EXPECT_EQ(k8s.listings(), 2u);
}

TEST_F(KubernetesMetadataTest, shouldFindNothingWithoutTheDirectory) {
  KubernetesMetadata k8s({.containers = dir_ / "missing", .pods = dir_ / "missing"},
                         std::chrono::seconds(1), [this] { return now_; });
  EXPECT_EQ(k8s.find(kId), std::nullopt);
  EXPECT_EQ(k8s.find("not an id"), std::nullopt);
  EXPECT_EQ(k8s.find(kId, kUid), std::nullopt);
}

// No link for the container (not made yet, or /var/log/containers not mounted): its pod's uid
// names the pod; a pod with one container directory names the container too.
TEST_F(KubernetesMetadataTest, shouldFindThePodByItsUidWhenTheLinkIsMissing) {
  pod_dir(std::string("shop_checkout-7f9c6b5d4-qz8mn_") + kUid, {"app"});
  KubernetesMetadata k8s = metadata();
  EXPECT_EQ(k8s.find(kId, kUid), container("checkout-7f9c6b5d4-qz8mn", "shop", "app"));
  EXPECT_EQ(k8s.find(kId), std::nullopt);  // no uid: nothing to look for
  EXPECT_EQ(k8s.find(kId, "5b4d0d5e9a3f3ab0f7a0b1d3c0e7d2f1"), std::nullopt);
}

// Several containers (a sidecar, an init container): which one is this is not known, so none is
// named; the pod still is.
TEST_F(KubernetesMetadataTest, shouldNameNoContainerOfAPodWithSeveral) {
  pod_dir(std::string("shop_checkout-7f9c6b5d4-qz8mn_") + kUid, {"app", "istio-proxy"});
  KubernetesMetadata k8s = metadata();
  EXPECT_EQ(k8s.find(kId, kUid), container("checkout-7f9c6b5d4-qz8mn", "shop", ""));
}

// The link, when there, wins: it names the container whatever the pod holds.
TEST_F(KubernetesMetadataTest, shouldPreferTheLinkToThePodDirectory) {
  pod_dir(std::string("shop_checkout-7f9c6b5d4-qz8mn_") + kUid, {"app", "istio-proxy"});
  link(log_name("checkout-7f9c6b5d4-qz8mn_shop_istio-proxy"));
  KubernetesMetadata k8s = metadata();
  EXPECT_EQ(k8s.find(kId, kUid), container("checkout-7f9c6b5d4-qz8mn", "shop", "istio-proxy"));
  EXPECT_EQ(k8s.pod_listings(), 0u);
}

TEST_F(KubernetesMetadataTest, shouldRelistPodsForANewUidAtMostOncePerInterval) {
  KubernetesMetadata k8s = metadata();
  EXPECT_EQ(k8s.find(kId, kUid), std::nullopt);
  pod_dir(std::string("shop_web-0_") + kUid, {"app"});
  EXPECT_EQ(k8s.find(kId, kUid), std::nullopt);
  EXPECT_EQ(k8s.pod_listings(), 1u);
  now_ += std::chrono::seconds(1);
  EXPECT_EQ(k8s.find(kId, kUid), container("web-0", "shop", "app"));
  EXPECT_EQ(k8s.pod_listings(), 2u);
}

}  // namespace
}  // namespace profilis
