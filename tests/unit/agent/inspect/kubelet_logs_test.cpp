#include "agent/inspect/kubelet_logs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace profilis {
namespace {

namespace fs = std::filesystem;

constexpr const char* kId = "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
constexpr const char* kOtherId = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

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

  KubernetesMetadata metadata(std::chrono::seconds min_relist_interval = std::chrono::seconds(1)) {
    return KubernetesMetadata(dir_, min_relist_interval, [this] { return now_; });
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
  KubernetesMetadata k8s(dir_ / "missing", std::chrono::seconds(1), [this] { return now_; });
  EXPECT_EQ(k8s.find(kId), std::nullopt);
  EXPECT_EQ(k8s.find("not an id"), std::nullopt);
}

}  // namespace
}  // namespace profilis
