// End-to-end tests of the agent's outputs while it traces a real process: JSONL rotation keeps
// every line, the live /metrics passes the real promtool, and a real Prometheus server scraping
// the agent counts the same calls the fixture made.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/http_client.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> jsonl_files(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// One traced fixture and one agent, with every wait bounded.
class SinksTest : public ::testing::Test {
 protected:
  void start_fixture(std::vector<std::string> extra) {
    std::vector<std::string> argv = {FN_FIXTURE_PIE, timings_.path() + "/timings.jsonl"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    fixture_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(fixture_->wait_for_stderr("fn_fixture: ready", 10s)) << fixture_->err();
  }

  void start_agent(std::vector<std::string> options) {
    std::vector<std::string> argv = {PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture_->pid())};
    argv.insert(argv.end(), options.begin(), options.end());
    agent_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", 30s)) << agent_->err();
  }

  void go() { ASSERT_TRUE(fixture_->write_stdin("go\n")); }

  void expect_both_exit_cleanly() {
    const auto fixture_status = fixture_->wait(60s);
    EXPECT_TRUE(fixture_status.exited() && fixture_status.code == 0)
        << "fixture: " << fixture_status.describe() << "\n"
        << fixture_->err();
    const auto agent_status = agent_->wait(30s);
    EXPECT_TRUE(agent_status.exited() && agent_status.code == 0)
        << "agent: " << agent_status.describe() << "\n"
        << agent_->err();
  }

  size_t fixture_calls_of(const std::string& fn) {
    const auto text = read_file(timings_.path() + "/timings.jsonl").value_or("");
    std::istringstream lines(text);
    size_t n = 0;
    for (std::string line; std::getline(lines, line);) {
      if (nlohmann::json::parse(line).value("fn", "") == fn) ++n;
    }
    return n;
  }

  TempDir timings_;
  TempDir out_;
  std::unique_ptr<Process> fixture_;
  std::unique_ptr<Process> agent_;
};

TEST_F(SinksTest, RotationAt64KiBKeepsEveryEventExactlyOnce) {
  PROFILIS_REQUIRE_ROOT();
  constexpr int kCalls = 3000;  // about 200 bytes a line: several 64 KiB files
  constexpr uintmax_t kLimit = 64 * 1024;
  ASSERT_NO_FATAL_FAILURE(start_fixture({"--fast-calls", std::to_string(kCalls)}));
  // The burst comes faster than an fsync per rotation drains it (more so under ASan): the records
  // wait in the ring buffer, none is lost, with default options.
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_fast", "--jsonl-dir", out_.path(),
                                       "--jsonl-rotate-bytes", std::to_string(kLimit)}));
  ASSERT_NO_FATAL_FAILURE(go());
  expect_both_exit_cleanly();

  std::set<uint64_t> starts;
  size_t lines = 0;
  const auto files = jsonl_files(out_.path());
  for (const auto& file : files) {
    EXPECT_EQ(file.extension(), ".jsonl") << "left behind: " << file;
    EXPECT_LE(fs::file_size(file), kLimit) << file;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line); ++lines) {
      const auto event = nlohmann::json::parse(line);
      EXPECT_EQ(event.value("fn", ""), "fx_fast");
      EXPECT_TRUE(starts.insert(event.value("ts_ns", uint64_t{0})).second)
          << "duplicated event: " << line;
    }
  }
  EXPECT_GE(files.size(), 3u) << "rotation at 64 KiB should have made several files";
  EXPECT_EQ(lines, size_t{kCalls}) << "lines across all files vs calls made";
  EXPECT_NE(agent_->err().find(" 0 in the kernel"), std::string::npos) << agent_->err();
  EXPECT_NE(agent_->err().find(" 0 by jsonl"), std::string::npos) << agent_->err();
}

using testutil::http_get;
using testutil::http_request;

TEST_F(SinksTest, LiveMetricsPassPromtoolAndCountTheCalls) {
  PROFILIS_REQUIRE_ROOT();
  const int port = free_port();
  ASSERT_NO_FATAL_FAILURE(start_fixture({"--linger"}));
  ASSERT_NO_FATAL_FAILURE(
      start_agent({"--fn", "fx_sleep_ms", "--fn", "fixture::Worker::step", "--prometheus",
                   "127.0.0.1:" + std::to_string(port), "--instance", "e2e", "--worker", "w1"}));
  ASSERT_NO_FATAL_FAILURE(go());
  ASSERT_TRUE(fixture_->wait_for_stderr("lingering", 60s)) << fixture_->err();
  std::this_thread::sleep_for(1500ms);  // two flush intervals: every event reached the sinks

  std::string error;
  const auto metrics = http_request(port, {.target = "/metrics"}, 5s, &error);
  ASSERT_TRUE(metrics) << error;
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->header("Content-Type"), "text/plain; charset=utf-8");
  // prometheus-cpp writes a series' labels sorted by name.
  const std::string line =
      "profilis_function_calls_total{function=\"fx_sleep_ms\",instance=\"e2e\","
      "service=\"fn_fixture_pie\",worker=\"w1\"} " +
      std::to_string(fixture_calls_of("fx_sleep_ms"));
  EXPECT_NE(metrics->body.find(line + "\n"), std::string::npos) << line << "\n" << metrics->body;
  for (const char* family :
       {"profilis_function_duration_seconds_bucket", "profilis_events_dropped_total",
        "profilis_queue_depth", "profilis_export_errors_total", "profilis_build_info"}) {
    EXPECT_NE(metrics->body.find(family), std::string::npos) << family;
  }

  TempDir scratch;
  const std::string file = scratch.path() + "/metrics.txt";
  std::ofstream(file) << metrics->body;
  std::string out, err;
  const auto promtool = run({"sh", "-c", "promtool check metrics < " + file}, 30s, &out, &err);
  EXPECT_TRUE(promtool.exited() && promtool.code == 0)
      << "promtool: " << promtool.describe() << "\n"
      << out << err;

  // What Prometheus sends: the same text, gzip-compressed.
  const auto gzipped = http_get(port, "/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->status, 200);
  EXPECT_EQ(gzipped->header("Content-Encoding"), "gzip");
  EXPECT_NE(testutil::gunzip(gzipped->body).find(line + "\n"), std::string::npos);

  const auto health = http_get(port, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  const auto missing = http_get(port, "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  // No body and no Content-Length: answered at once all the same.
  const auto start = std::chrono::steady_clock::now();
  const auto post = http_request(port, {.method = "POST", .target = "/metrics"}, 5s);
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->header("Allow"), "GET");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);

  ASSERT_TRUE(fixture_->write_stdin("exit\n"));
  expect_both_exit_cleanly();
}

// Polls PromQL `query` through the server's HTTP API until it returns `want` or time runs out;
// returns the last value seen ("" when none).
std::string wait_for_query(int port, const std::string& query, const std::string& want) {
  std::string last;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < give_up) {
    const auto res = http_get(port, "/api/v1/query?query=" + testutil::url_encode(query));
    if (res && res->status == 200) {
      const auto body = nlohmann::json::parse(res->body, nullptr, false);
      const auto& result = body["data"]["result"];
      if (result.is_array() && !result.empty()) last = result[0]["value"][1].get<std::string>();
      if (last == want) return last;
    }
    std::this_thread::sleep_for(500ms);
  }
  return last;
}

TEST_F(SinksTest, PrometheusServerScrapesTheSameCallCountTheFixtureMade) {
  PROFILIS_REQUIRE_ROOT();
  const int agent_port = free_port();
  const int prom_port = free_port();
  TempDir prom_dir;
  std::ofstream(prom_dir.path() + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n  - job_name: profilis\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << agent_port << "']\n";
  Process prometheus({"prometheus", "--config.file=" + prom_dir.path() + "/prometheus.yml",
                      "--storage.tsdb.path=" + prom_dir.path() + "/data",
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  ASSERT_TRUE(prometheus.wait_for_stderr("Server is ready to receive web requests", 60s))
      << prometheus.err();

  ASSERT_NO_FATAL_FAILURE(start_fixture({"--linger"}));
  ASSERT_NO_FATAL_FAILURE(start_agent(
      {"--fn", "fx_sleep_ms", "--prometheus", "127.0.0.1:" + std::to_string(agent_port)}));
  ASSERT_NO_FATAL_FAILURE(go());
  ASSERT_TRUE(fixture_->wait_for_stderr("lingering", 60s)) << fixture_->err();

  const std::string want = std::to_string(fixture_calls_of("fx_sleep_ms"));
  const std::string got = wait_for_query(
      prom_port, "sum(profilis_function_calls_total{function=\"fx_sleep_ms\"})", want);
  EXPECT_EQ(got, want) << "PromQL count vs calls the fixture made";
  EXPECT_EQ(wait_for_query(prom_port, "sum(profilis_function_duration_seconds_count)", want), want);

  ASSERT_TRUE(fixture_->write_stdin("exit\n"));
  expect_both_exit_cleanly();
  prometheus.signal(SIGTERM);
  prometheus.wait(30s);
}

TEST_F(SinksTest, PrometheusAddressErrorsHaveTheirExitCodes) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture({}));
  const std::string pid = std::to_string(fixture_->pid());
  std::string err;
  auto bad = run({PROFILIS_AGENT_BIN, "--pid", pid, "--fn", "fx_sleep_ms", "--prometheus",
                  "127.0.0.1:notaport"},
                 30s, nullptr, &err);
  EXPECT_TRUE(bad.exited() && bad.code == 2) << bad.describe() << "\n" << err;
  EXPECT_NE(err.find("notaport"), std::string::npos) << err;

  auto ipv6 =
      run({PROFILIS_AGENT_BIN, "--pid", pid, "--fn", "fx_sleep_ms", "--prometheus", "[::1]:9464"},
          30s, nullptr, &err);
  EXPECT_TRUE(ipv6.exited() && ipv6.code == 2) << ipv6.describe() << "\n" << err;
  EXPECT_NE(err.find("IPv6 is not supported"), std::string::npos) << err;

  // A port that is taken: exit 1, and the message says why.
  const int squatter = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(squatter, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(squatter, 1), 0);
  ASSERT_EQ(::getsockname(squatter, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const int port = ntohs(addr.sin_port);
  auto taken = run({PROFILIS_AGENT_BIN, "--pid", pid, "--fn", "fx_sleep_ms", "--prometheus",
                    "127.0.0.1:" + std::to_string(port)},
                   30s, nullptr, &err);
  ::close(squatter);
  EXPECT_TRUE(taken.exited() && taken.code == 1) << taken.describe() << "\n" << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
}

}  // namespace
}  // namespace profilis::e2e
