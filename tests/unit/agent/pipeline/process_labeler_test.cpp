#include "agent/pipeline/process_labeler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/unit/agent/pipeline/fake_proc.h"

namespace profilis {
namespace {

constexpr const char* kId = "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
constexpr const char* kUid = "4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

// A containerd container's process in a Burstable pod (systemd driver, cgroup v2).
std::string pod_cgroup() {
  return std::string("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod") +
         "4b1f2c3d_5e6f_4a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-" + kId + ".scope\n";
}

ProcessLabels labels(std::string service, std::string id = {}, std::string ns = {},
                     std::string pod = {}, std::string container = {}) {
  return {.service = std::move(service),
          .container_id = std::move(id),
          .k8s_namespace = std::move(ns),
          .k8s_pod = std::move(pod),
          .k8s_container = std::move(container)};
}

TEST(ProcessLabeler, shouldNameAHostProcessByItsComm) {
  FakeProc proc;
  proc.process(10, "nginx", "0::/system.slice/nginx.service\n");
  ProcessLabeler labeler(proc.options());
  EXPECT_EQ(labeler.labels(10, "nginx: worker"), labels("nginx"));
  ProcessLabeler named(proc.options("shop"));
  EXPECT_EQ(named.labels(10, "nginx"), labels("shop"));
}

TEST(ProcessLabeler, shouldLabelAPodsContainerFromItsLogLink) {
  FakeProc proc;
  proc.process(10, "checkout", pod_cgroup());
  proc.log_link(std::string("checkout-7f9c6b5d4-qz8mn_shop_app-") + kId + ".log");
  ProcessLabeler labeler(proc.options());
  EXPECT_EQ(labeler.labels(10, "checkout"),
            labels("checkout", kId, "shop", "checkout-7f9c6b5d4-qz8mn", "app"));
}

// No link (not made yet, or /var/log/containers not mounted): the pod's directory, by its uid.
TEST(ProcessLabeler, shouldLabelAPodsContainerFromItsPodDirectory) {
  FakeProc proc;
  proc.process(10, "checkout", pod_cgroup());
  proc.pod_dir(std::string("shop_checkout-7f9c6b5d4-qz8mn_") + kUid, {"app"});
  ProcessLabeler labeler(proc.options());
  EXPECT_EQ(labeler.labels(10, "checkout"),
            labels("checkout", kId, "shop", "checkout-7f9c6b5d4-qz8mn", "app"));
}

// The first event came before the kubelet's link; a later one, past the relist interval, finds it.
TEST(ProcessLabeler, shouldLookAgainForAContainerTheKubeletHadNotNamed) {
  FakeProc proc;
  proc.process(10, "checkout", pod_cgroup());
  ProcessLabeler labeler(proc.options());
  EXPECT_EQ(labeler.labels(10, "checkout"), labels("checkout", kId));
  proc.log_link(std::string("checkout-7f9c6b5d4-qz8mn_shop_app-") + kId + ".log");
  EXPECT_EQ(labeler.labels(10, "checkout"), labels("checkout", kId));  // within the interval
  ::usleep(1'050'000);
  EXPECT_EQ(labeler.labels(10, "checkout"),
            labels("checkout", kId, "shop", "checkout-7f9c6b5d4-qz8mn", "app"));
}

// Read once: a process that exits keeps its labels until forgotten; a process gone before its
// first event is named by the record's comm and not cached.
TEST(ProcessLabeler, shouldCacheUntilForgotten) {
  FakeProc proc;
  proc.process(10, "checkout", pod_cgroup());
  ProcessLabeler labeler(proc.options());
  EXPECT_EQ(labeler.labels(10, "checkout").container_id, kId);
  proc.exit(10);
  EXPECT_EQ(labeler.labels(10, "checkout").container_id, kId);
  EXPECT_EQ(labeler.cached(), 1u);

  labeler.forget(10);
  EXPECT_EQ(labeler.cached(), 0u);
  EXPECT_EQ(labeler.labels(10, "checkout"), labels("checkout"));
  EXPECT_EQ(labeler.cached(), 0u);

  // The pid reused by another process: read afresh.
  proc.process(10, "batch", "0::/system.slice/cron.service\n");
  EXPECT_EQ(labeler.labels(10, "batch"), labels("batch"));
  EXPECT_EQ(labeler.cached(), 1u);
}

TEST(ProcessLabeler, shouldHoldAtMostItsBoundOfProcesses) {
  FakeProc proc;
  for (pid_t pid = 1; pid <= 5; ++pid) proc.process(pid, "p" + std::to_string(pid), "0::/\n");
  ProcessLabelerOptions options = proc.options();
  options.max_processes = 3;
  ProcessLabeler labeler(options);
  for (pid_t pid = 1; pid <= 5; ++pid) {
    EXPECT_EQ(labeler.labels(pid, "x").service, "p" + std::to_string(pid));
    EXPECT_LE(labeler.cached(), 3u);
  }
  for (pid_t pid = 1; pid <= 5; ++pid)
    EXPECT_EQ(labeler.labels(pid, "x").service, "p" + std::to_string(pid));
}

// The real /proc: this test's own process.
TEST(ProcessLabeler, shouldReadALiveProcess) {
  ProcessLabeler labeler;
  EXPECT_FALSE(labeler.labels(::getpid(), "record comm").service.empty());
  EXPECT_NE(labeler.labels(::getpid(), "record comm").service, "record comm");
  EXPECT_EQ(labeler.labels(-1, "record comm").service, "record comm");
}

}  // namespace
}  // namespace profilis
