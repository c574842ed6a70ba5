// End to end: --aggregate adds calls up in the kernel and serves them in the FN families at each
// scrape. Against the per-event path on the same workload (two agents tracing one process at once):
// the same count, sums within 1 %, the same buckets; under a burst far bigger than the ring buffer
// every call is counted; no per-call event reaches the JSONL files. --python-fn's aggregated calls
// against the Python fixture's own log of them.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/exposition.h"
#include "tests/common/http_client.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testutil::http_get;
using testutil::sample;

class Aggregate : public ::testing::Test {
 protected:
  void start_burst(const std::string& mode, int calls, int threads) {
    burst_ = std::make_unique<Process>(std::vector<std::string>{
        BURST_FIXTURE, mode, std::to_string(calls), std::to_string(threads)});
    ASSERT_TRUE(burst_->wait_for_stderr("burst: ready", 10s)) << burst_->err();
  }

  std::unique_ptr<Process> start_agent(int port, std::vector<std::string> options) {
    std::vector<std::string> argv = {PROFILIS_AGENT_BIN, "--pid", std::to_string(burst_->pid()),
                                     "--prometheus", "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), options.begin(), options.end());
    auto agent = std::make_unique<Process>(argv);
    EXPECT_TRUE(agent->wait_for_stderr("profilis-agent: tracing", 60s)) << agent->err();
    return agent;
  }

  void run_burst() {
    ASSERT_TRUE(burst_->write_stdin("go\n"));
    ASSERT_TRUE(burst_->wait_for_stderr("burst: done", 120s)) << burst_->err();
  }

  // The last scrape once `metric` reached `value`, or after a minute.
  static std::string metrics_when(int port, const std::string& metric, double value) {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    do {
      const auto res = http_get(port, "/metrics");
      text = res && res->status == 200 ? res->body : "";
      if (sample(text, metric) == value) break;
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return text;
  }

  static void stop(Process& agent) {
    agent.signal(SIGTERM);
    const auto status = agent.wait(30s);
    EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n" << agent.err();
  }

  void end_burst() {
    burst_->close_stdin();
    EXPECT_EQ(burst_->wait(10s).code, 0);
  }

  TempDir dir_;
  std::unique_ptr<Process> burst_;
};

std::string series(const std::string& family, const std::string& extra = "",
                   const std::string& function = "burst_slow") {
  return family + "{function=\"" + function + "\",instance=\"i\",service=\"burst\",worker=\"w\"" +
         extra + "}";
}

double value(const std::string& text, const std::string& series) {
  return sample(text, series).value_or(-1);
}

TEST_F(Aggregate, CountsAndSumsAsThePerEventPathDoes) {
  PROFILIS_REQUIRE_ROOT();
  constexpr int kCalls = 150, kThreads = 2;
  ASSERT_NO_FATAL_FAILURE(start_burst("slow", kCalls, kThreads));
  const int events_port = free_port(), aggregate_port = free_port();
  const std::vector<std::string> labels = {"--instance", "i",         "--worker",
                                           "w",          "--service", "burst"};
  std::vector<std::string> per_event = {"--fn", "burst_slow"};
  per_event.insert(per_event.end(), labels.begin(), labels.end());
  auto events = start_agent(events_port, per_event);
  fs::create_directory(dir_.path() + "/jsonl");
  std::vector<std::string> aggregated = {"--fn",        "burst_slow",           "--aggregate",
                                         "--jsonl-dir", dir_.path() + "/jsonl", "--verbose"};
  aggregated.insert(aggregated.end(), labels.begin(), labels.end());
  auto aggregate = start_agent(aggregate_port, aggregated);
  EXPECT_NE(aggregate->err().find("calls added up in the kernel (--aggregate)"), std::string::npos)
      << aggregate->err();
  ASSERT_NO_FATAL_FAILURE(run_burst());

  const double calls = kCalls * kThreads;
  const std::string by_events =
      metrics_when(events_port, series("profilis_function_calls_total"), calls);
  const std::string by_kernel =
      metrics_when(aggregate_port, series("profilis_function_calls_total"), calls);
  EXPECT_EQ(value(by_events, series("profilis_function_calls_total")), calls) << by_events;
  EXPECT_EQ(value(by_kernel, series("profilis_function_calls_total")), calls) << by_kernel;
  const double sum_events = value(by_events, series("profilis_function_duration_seconds_sum"));
  const double sum_kernel = value(by_kernel, series("profilis_function_duration_seconds_sum"));
  EXPECT_GT(sum_kernel, calls * 0.001) << "each call sleeps 1 ms";
  EXPECT_LT(std::abs(sum_kernel - sum_events), 0.01 * sum_events)
      << "per event " << sum_events << " s, aggregated " << sum_kernel << " s";
  for (const char* le : {"0.005", "0.01", "+Inf"}) {
    const std::string bucket =
        series("profilis_function_duration_seconds_bucket", std::string(",le=\"") + le + "\"");
    EXPECT_EQ(value(by_kernel, bucket), value(by_events, bucket)) << le << "\n" << by_kernel;
  }
  stop(*events);
  stop(*aggregate);
  end_burst();
  for (const auto& file : fs::directory_iterator(dir_.path() + "/jsonl")) {
    for (const Json& event : read_json_lines(file.path())) {
      EXPECT_NE(event.value("kind", ""), "FN") << "an aggregated call became an event";
    }
  }
}

TEST_F(Aggregate, CountsEveryCallOfABurstFarBiggerThanTheRingBuffer) {
  PROFILIS_REQUIRE_ROOT();
  constexpr int kCalls = 300'000, kThreads = 2;
  ASSERT_NO_FATAL_FAILURE(start_burst("fn", kCalls, kThreads));
  const int port = free_port();
  auto agent = start_agent(port, {"--fn", "burst_target", "--aggregate", "--ring-buffer-size",
                                  "64K", "--service", "burst", "--instance", "i", "--worker", "w"});
  ASSERT_NO_FATAL_FAILURE(run_burst());
  const auto res = http_get(port, "/metrics");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_EQ(value(res->body, series("profilis_function_calls_total", "", "burst_target")),
            double{kCalls} * kThreads)
      << res->body;
  EXPECT_EQ(value(res->body, R"(profilis_events_dropped_total{stage="kernel"})"), 0) << res->body;
  stop(*agent);
  end_burst();
}

TEST_F(Aggregate, NeedsPrometheus) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_burst("fn", 1, 1));
  std::string err;
  for (const char* option : {"--fn", "--python-fn"}) {
    const auto status = run({PROFILIS_AGENT_BIN, "--pid", std::to_string(burst_->pid()), option,
                             "burst_target", "--aggregate"},
                            30s, nullptr, &err);
    EXPECT_TRUE(status.exited() && status.code == 2) << status.describe() << err;
    EXPECT_NE(err.find("--aggregate needs --prometheus"), std::string::npos) << err;
  }
  ASSERT_TRUE(burst_->write_stdin("go\n"));
  end_burst();
}

// --aggregate right after one --python-fn: the calls that spec takes first are added up in the
// kernel under their "file.py:function" name, each one the fixture made; the other spec's calls
// stay events. Debian's python3.11, as the --python-fn tests run it.
TEST_F(Aggregate, PythonFunctionsAfterTheirSpec) {
  PROFILIS_REQUIRE_ROOT();
  const std::string log = dir_.path() + "/calls.jsonl", jsonl = dir_.path() + "/jsonl";
  Process fixture({"/usr/bin/python3.11", PYTHON_FN_FIXTURE, log, "2", "--hold"});
  ASSERT_TRUE(fixture.wait_for_stderr("python_fn_fixture: ready", 30s)) << fixture.err();
  const int port = free_port();
  Process agent({PROFILIS_AGENT_BIN,
                 "--pid",
                 std::to_string(fixture.pid()),
                 "--db",
                 "none",
                 "--python-fn",
                 "work_inner",
                 "--aggregate",
                 "--python-fn",
                 "work_*",
                 "--prometheus",
                 "127.0.0.1:" + std::to_string(port),
                 "--jsonl-dir",
                 jsonl,
                 "--service",
                 "burst",
                 "--instance",
                 "i",
                 "--worker",
                 "w"});
  ASSERT_TRUE(agent.wait_for_stderr("profilis-agent: tracing", 60s)) << agent.err();
  ASSERT_TRUE(fixture.write_stdin("go\n"));
  ASSERT_TRUE(fixture.wait_for_stderr("python_fn_fixture: done", 120s)) << fixture.err();

  double inner_calls = 0, inner_ns = 0, outer_calls = 0;
  for (const Json& line : read_json_lines(log)) {
    const std::string fn = line.value("fn", "");
    if (fn == "python_fn_fixture.py:work_inner") {
      ++inner_calls;
      inner_ns += static_cast<double>(line.value("dur_ns", int64_t{0}));
    }
    if (fn == "python_fn_fixture.py:work_outer") ++outer_calls;
  }
  ASSERT_GT(inner_calls, 0);
  const std::string inner = "python_fn_fixture.py:work_inner";
  const std::string text =
      metrics_when(port, series("profilis_function_calls_total", "", inner), inner_calls);
  EXPECT_EQ(value(text, series("profilis_function_calls_total", "", inner)), inner_calls) << text;
  EXPECT_EQ(value(text, series("profilis_function_duration_seconds_count", "", inner)), inner_calls)
      << text;
  // Each call's own time lies within the fixture's reading of it, and each sleeps 4 ms of it.
  const double sum = value(text, series("profilis_function_duration_seconds_sum", "", inner));
  EXPECT_LE(sum, inner_ns / 1e9) << text;
  EXPECT_GT(sum, 0.97 * inner_ns / 1e9) << text;
  // The events' series, in the same family.
  EXPECT_EQ(
      value(text, series("profilis_function_calls_total", "", "python_fn_fixture.py:work_outer")),
      outer_calls)
      << text;
  fixture.close_stdin();
  EXPECT_EQ(fixture.wait(10s).code, 0) << fixture.err();
  const auto status = agent.wait(30s);
  EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n" << agent.err();
  std::size_t events = 0;
  for (const auto& file : fs::directory_iterator(jsonl)) {
    for (const Json& event : read_json_lines(file.path())) {
      ++events;
      EXPECT_NE(event.value("fn", ""), inner) << "an aggregated call became an event";
    }
  }
  EXPECT_GT(events, 0u);
}

}  // namespace
}  // namespace profilis::e2e
