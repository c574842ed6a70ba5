// End-to-end tests of the Prometheus endpoint's own features while the agent traces a real process:
// basic auth from --prometheus-basic-auth-file, the 10 000-series limit with __other__ folding
// (a traced program with a new route at every request), and what the endpoint serves then.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/exposition.h"
#include "tests/common/http_client.h"
#include "tests/common/promtool.h"
#include "tests/e2e/container_cgroup.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

using testutil::sample;
using testutil::series_count;

using testutil::http_get;

// bcrypt of "secret" at cost 5, $2y$ as htpasswd -B writes it.
constexpr const char* kSecretHash = "$2y$05$1wnQqsbVp6t9bs8MxGCNe.ACjncRBNgDcogoYN3Oqp.1jL7zyGhZ6";

class PrometheusEndpoint : public ::testing::Test {
 protected:
  void start_burst(const std::string& mode, int calls) {
    burst_ = std::make_unique<Process>(
        std::vector<std::string>{BURST_FIXTURE, mode, std::to_string(calls), "1"});
    ASSERT_TRUE(burst_->wait_for_stderr("burst: ready", 10s)) << burst_->err();
  }

  void start_agent(std::vector<std::string> options) {
    std::vector<std::string> argv = {PROFILIS_AGENT_BIN, "--pid", std::to_string(burst_->pid()),
                                     "--prometheus", "127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), options.begin(), options.end());
    agent_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", 60s)) << agent_->err();
  }

  void run_burst() {
    ASSERT_TRUE(burst_->write_stdin("go\n"));
    ASSERT_TRUE(burst_->wait_for_stderr("burst: done", 120s)) << burst_->err();
  }

  // Scrapes until `events` reached the Prometheus sink, or a minute passes; the last scrape.
  std::string metrics_after(double events,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    do {
      const auto res = http_get(port_, "/metrics", headers);
      text = res && res->status == 200 ? res->body : "";
      if (sample(text, R"(profilis_events_delivered_total{sink="prometheus"})") == events) break;
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return text;
  }

  void stop() {
    agent_->signal(SIGTERM);
    const auto status = agent_->wait(30s);
    EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n" << agent_->err();
    burst_->close_stdin();
    EXPECT_EQ(burst_->wait(10s).code, 0);
  }

  TempDir dir_;
  int port_ = free_port();
  std::unique_ptr<Process> burst_;
  std::unique_ptr<Process> agent_;
};

TEST_F(PrometheusEndpoint, BasicAuthRefusesWrongCredentialsAndAcceptsBcryptAndPlain) {
  PROFILIS_REQUIRE_ROOT();
  const std::string users = dir_.path() + "/scrapers";
  std::ofstream(users) << "# who may scrape\nprometheus:" << kSecretHash << "\nplain:pa:ss\n";
  ASSERT_NO_FATAL_FAILURE(start_burst("markers", 100));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--db", "none", "--prometheus-basic-auth-file", users}));
  ASSERT_NO_FATAL_FAILURE(run_burst());

  const auto anonymous = http_get(port_, "/metrics");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_NE(anonymous->header("WWW-Authenticate").find("Basic"), std::string::npos);
  EXPECT_EQ(anonymous->body.find("profilis_"), std::string::npos) << anonymous->body;
  for (const auto& [user, password] :
       std::vector<std::pair<std::string, std::string>>{{"prometheus", "Secret"},
                                                        {"prometheus", kSecretHash},
                                                        {"plain", "pa"},
                                                        {"x", "pa:ss"}}) {
    const auto refused = http_get(
        port_, "/metrics", {{"Authorization", testutil::basic_authorization(user, password)}});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << user << ":" << password;
  }
  const std::string text = metrics_after(
      300, {{"Authorization", testutil::basic_authorization("prometheus", "secret")}});
  EXPECT_EQ(sample(text, R"(profilis_events_delivered_total{sink="prometheus"})"), 300.0) << text;
  const auto plain = http_get(port_, "/metrics",
                              {{"Authorization", testutil::basic_authorization("plain", "pa:ss")}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  // Liveness probes carry no credentials.
  const auto health = http_get(port_, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  stop();
}

TEST_F(PrometheusEndpoint, BadAuthFilesExitWithTwoNamingTheFileAndLine) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_burst("markers", 1));
  const std::string pid = std::to_string(burst_->pid());
  const std::string prometheus = "127.0.0.1:" + std::to_string(port_);
  std::string err;
  const std::string missing = dir_.path() + "/missing";
  auto status = run({PROFILIS_AGENT_BIN, "--pid", pid, "--db", "none", "--prometheus", prometheus,
                     "--prometheus-basic-auth-file", missing},
                    30s, nullptr, &err);
  EXPECT_TRUE(status.exited() && status.code == 2) << status.describe() << "\n" << err;
  EXPECT_NE(err.find(missing + ": cannot read it: No such file or directory"), std::string::npos)
      << err;

  const std::string malformed = dir_.path() + "/malformed";
  std::ofstream(malformed) << "ok:fine\nno colon here\n";
  status = run({PROFILIS_AGENT_BIN, "--pid", pid, "--db", "none", "--prometheus", prometheus,
                "--prometheus-basic-auth-file", malformed},
               30s, nullptr, &err);
  EXPECT_TRUE(status.exited() && status.code == 2) << status.describe() << "\n" << err;
  EXPECT_NE(err.find(malformed + ":2: no ':' between user and password"), std::string::npos) << err;
}

// 12 000 routes: 10 000 series, then every further label set folded into one __other__ series
// and counted; the scrape of that many series passes promtool and is served gzip-compressed.
TEST_F(PrometheusEndpoint, FoldsLabelSetsBeyondTenThousandIntoOther) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_burst("routes", 12000));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--db", "none"}));
  ASSERT_NO_FATAL_FAILURE(run_burst());
  const std::string text = metrics_after(12000);
  EXPECT_EQ(series_count(text, "profilis_http_requests_total"), 10001u);
  EXPECT_EQ(sample(text,
                   "profilis_http_requests_total{instance=\"__other__\",route=\"__other__\","
                   "service=\"__other__\",status=\"__other__\",worker=\"__other__\"}"),
            2000.0);
  EXPECT_EQ(
      sample(text, R"(profilis_series_overflow_total{family="profilis_http_requests_total"})"),
      2000.0);
  EXPECT_EQ(sample(text,
                   "profilis_series_overflow_total{family=\"profilis_http_request_duration_"
                   "seconds\"}"),
            2000.0);
  EXPECT_EQ(series_count(text, "profilis_http_request_duration_seconds_count"), 10001u);
  const auto result = testutil::promtool_check(text);
  EXPECT_EQ(result.exit_code, 0) << result.output;

  const auto start = std::chrono::steady_clock::now();
  const auto gzipped = http_get(port_, "/metrics", {{"Accept-Encoding", "gzip"}});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->header("Content-Encoding"), "gzip");
  EXPECT_LT(gzipped->body.size() * 10, text.size()) << "compressed to " << gzipped->body.size();
  EXPECT_EQ(series_count(testutil::gunzip(gzipped->body), "profilis_http_requests_total"), 10001u);
  std::printf(
      "scrape of 20 000 series (10 001 of them histograms), gzip: %lld ms, %zu -> %zu bytes\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      text.size(), gzipped->body.size());
  stop();
}

// --metric-labels: a traced process in a pod's container (a cgroup this test makes, named as
// containerd's systemd driver names a BestEffort pod's; no /var/log/containers link, the pod found
// by its uid in a /var/log/pods tree the test makes) has its pod's labels on every event family.
class PrometheusEndpointInPod : public PrometheusEndpoint {
 protected:
  static constexpr const char* kId =
      "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
  static constexpr const char* kUid = "4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

  void TearDown() override {
    burst_.reset();  // killed and reaped if still running: the cgroup is empty
    cgroup_.reset();
    ::unsetenv("PROFILIS_KUBELET_LOG_DIR");
    ::unsetenv("PROFILIS_KUBELET_PODS_DIR");
  }

  // The series of `family` with these labels and the pod's, in the serializer's (sorted) order.
  static std::string in_pod(const std::string& family, std::map<std::string, std::string> own) {
    own.insert({{"container_id", kId},
                {"instance", "node-1"},
                {"k8s_container", "app"},
                {"k8s_namespace", "shop"},
                {"k8s_pod", "web-0"},
                {"service", "burst"},
                {"worker", "w1"}});
    std::string series = family + "{";
    for (const auto& [name, value] : own) series += name + "=\"" + value + "\",";
    series.back() = '}';
    return series;
  }

  std::unique_ptr<ContainerCgroup> cgroup_;
};

TEST_F(PrometheusEndpointInPod, MetricLabelsAddThePodOfEachEventsProcess) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_burst("markers", 100));
  cgroup_ = std::make_unique<ContainerCgroup>(
      "kubepods-besteffort-pod4b1f2c3d_5e6f_4a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-" +
      std::string(kId) + ".scope");
  const std::string failure = cgroup_->move_in(burst_->pid());
  ASSERT_TRUE(failure.empty()) << failure;
  const std::string pods = dir_.path() + "/pods";
  std::filesystem::create_directories(pods + "/shop_web-0_" + kUid + "/app");
  ASSERT_EQ(::setenv("PROFILIS_KUBELET_PODS_DIR", pods.c_str(), 1), 0);
  const std::string no_links = dir_.path() + "/containers";  // not mounted
  ASSERT_EQ(::setenv("PROFILIS_KUBELET_LOG_DIR", no_links.c_str(), 1), 0);

  ASSERT_NO_FATAL_FAILURE(
      start_agent({"--db", "none", "--service", "burst", "--instance", "node-1", "--worker", "w1",
                   "--metric-labels", "k8s_namespace,k8s_pod,k8s_container,container_id"}));
  ASSERT_NO_FATAL_FAILURE(run_burst());
  const std::string text = metrics_after(300);
  EXPECT_EQ(sample(text, in_pod("profilis_function_calls_total", {{"function", "burst_step"}})),
            100.0)
      << text;
  EXPECT_EQ(sample(text, in_pod("profilis_db_queries_total", {{"db_vendor", "sqlite"}})), 100.0);
  const auto requests = [&](const char* status) {
    return sample(text, in_pod("profilis_http_requests_total",
                               {{"route", "/burst/{id}"}, {"status", status}}));
  };
  EXPECT_EQ(requests("200").value_or(0) + requests("500").value_or(0), 100.0);
  EXPECT_EQ(series_count(text, "profilis_http_requests_total"), 2u);  // 200 and 500
  const auto result = testutil::promtool_check(text);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  stop();
}

}  // namespace
}  // namespace profilis::e2e
