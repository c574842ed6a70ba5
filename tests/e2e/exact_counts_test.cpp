// End-to-end tests of the agent's counts under bursts far bigger than any queue: with default
// options every event reaches every sink; with a tiny ring buffer the drops happen in the kernel
// and produced = delivered + dropped holds exactly, in /metrics and in the exit summary; a console
// nobody reads loses only its own copies and does not hold up the agent's stop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/exposition.h"
#include "tests/common/http_client.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

using testutil::sample;
using testutil::series_count;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Lines of every file in a JSONL directory (rotated and active), by event kind.
std::map<std::string, std::size_t> count_kinds(const std::string& text, const std::string& origin) {
  std::map<std::string, std::size_t> kinds;
  for (const auto& event : parse_json_lines(text, origin)) {
    ++kinds[event.at("kind").get<std::string>()];
  }
  return kinds;
}

std::string jsonl_text(const std::string& dir) {
  std::string all;
  for (const auto& entry : fs::directory_iterator(dir)) all += read_file(entry.path()).value_or("");
  return all;
}

std::size_t total(const std::map<std::string, std::size_t>& kinds) {
  std::size_t n = 0;
  for (const auto& [kind, count] : kinds) n += count;
  return n;
}

// The value of one sample of the exposition `text` ("name{labels}" exactly as rendered), or
// nothing when it is absent.
// The sum of the samples of family `name` whose labels contain `label` (a counter's label sets).
double sum_samples(const std::string& text, const std::string& name, const std::string& label) {
  double sum = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) == 0 && line.find(label) != std::string::npos) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

// The exit summary's figures: produced, and per stage (kernel, undecodable, each sink) delivered
// and dropped.
struct Summary {
  std::uint64_t produced = 0;
  std::map<std::string, std::uint64_t> delivered;
  std::map<std::string, std::uint64_t> dropped;
};

Summary parse_summary(const std::string& err) {
  Summary s;
  std::smatch m;
  const std::regex line(R"((\d+) events produced; delivered: ([^;]*); dropped: ([^\n]*))");
  EXPECT_TRUE(std::regex_search(err, m, line)) << err;
  if (m.empty()) return s;
  s.produced = std::stoull(m[1]);
  const std::string delivered = m[2], dropped = m[3];
  const std::regex to(R"((\d+) to (\w+))");
  for (std::sregex_iterator it(delivered.begin(), delivered.end(), to), end; it != end; ++it) {
    s.delivered[(*it)[2]] = std::stoull((*it)[1]);
  }
  const std::regex kernel(R"((\d+) in the kernel)"), undecodable(R"((\d+) undecodable)"),
      by(R"((\d+) by (\w+))");
  if (std::regex_search(dropped, m, kernel)) s.dropped["kernel"] = std::stoull(m[1]);
  if (std::regex_search(dropped, m, undecodable)) s.dropped["decoder"] = std::stoull(m[1]);
  for (std::sregex_iterator it(dropped.begin(), dropped.end(), by), end; it != end; ++it) {
    s.dropped[(*it)[2]] = std::stoull((*it)[1]);
  }
  return s;
}

class ExactCounts : public ::testing::Test {
 protected:
  // Starts `burst MODE CALLS THREADS`, waiting for its go.
  void start_burst(const std::string& mode, int calls, int threads,
                   const char* program = BURST_FIXTURE) {
    burst_ = std::make_unique<Process>(
        std::vector<std::string>{program, mode, std::to_string(calls), std::to_string(threads)});
    ASSERT_TRUE(burst_->wait_for_stderr("burst: ready", 10s)) << burst_->err();
  }

  // The agent, its stdout (the console sink) redirected by a shell to `stdout_path`.
  void start_agent(const std::vector<std::string>& options, const std::string& stdout_path) {
    std::string command =
        std::string("exec ") + PROFILIS_AGENT_BIN + " --pid " + std::to_string(burst_->pid());
    for (const auto& option : options) command += " '" + option + "'";
    command += " > '" + stdout_path + "'";
    agent_ = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", command});
    ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", 60s)) << agent_->err();
  }

  // Runs the burst to its end; the burst process stays alive (it exits at the end of its stdin).
  std::uint64_t run_burst() {
    EXPECT_TRUE(burst_->write_stdin("go\n"));
    EXPECT_TRUE(burst_->wait_for_stderr("burst: done", 120s)) << burst_->err();
    const std::smatch m = [&] {
      std::smatch found;
      std::regex_search(burst_->err(), found, std::regex(R"(burst: done (\d+))"));
      return found;
    }();
    return m.empty() ? 0 : std::stoull(m[1]);
  }

  std::string metrics() {
    const auto response = testutil::http_request(port_, {.target = "/metrics"}, 5s);
    return response && response->status == 200 ? response->body : std::string();
  }

  // Scrapes until `done` holds for the exposition, or the timeout passes; the last scrape.
  template <typename Done>
  std::string metrics_when(Done done, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string text = metrics();
    while (!done(text) && Clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      text = metrics();
    }
    return text;
  }

  // Stops the agent with SIGTERM and returns how long it took to exit.
  std::chrono::milliseconds stop_agent() {
    const auto start = Clock::now();
    agent_->signal(SIGTERM);
    const auto status = agent_->wait(60s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n" << agent_->err();
    burst_->close_stdin();
    EXPECT_EQ(burst_->wait(10s).code, 0);
    return took;
  }

  // Checks the exposition and the summary against each other and the equation, for every sink.
  void expect_exact_accounting(const std::string& text, const std::vector<std::string>& sinks) {
    const Summary summary = parse_summary(agent_->err());
    const auto produced = sample(text, "profilis_events_produced_total");
    ASSERT_TRUE(produced) << text;
    EXPECT_EQ(*produced, static_cast<double>(summary.produced));
    const double kernel = sample(text, R"(profilis_events_dropped_total{stage="kernel"})").value();
    const double decoder =
        sample(text, R"(profilis_events_dropped_total{stage="decoder"})").value();
    EXPECT_EQ(kernel, static_cast<double>(summary.dropped.at("kernel")));
    EXPECT_EQ(decoder, 0);
    for (const auto& sink : sinks) {
      const double delivered =
          sample(text, "profilis_events_delivered_total{sink=\"" + sink + "\"}").value();
      const double dropped =
          sample(text, "profilis_events_dropped_total{stage=\"" + sink + "\"}").value();
      EXPECT_EQ(*produced, delivered + dropped + kernel + decoder) << sink << "\n" << text;
      EXPECT_EQ(delivered, static_cast<double>(summary.delivered.at(sink))) << sink;
      EXPECT_EQ(dropped, static_cast<double>(summary.dropped.at(sink))) << sink;
    }
  }

  TempDir dir_;
  int port_ = free_port();
  std::unique_ptr<Process> burst_;
  std::unique_ptr<Process> agent_;
};

// Every sink holds every event of a burst of `calls` x `threads` iterations of `mode`, with the
// agent's default options plus the three sinks, and nothing is dropped anywhere. The sanitizer
// build of the agent drains ~20 times slower than the optimized one (a few thousand events a
// second), slower than the traced program produces: there the ring buffer is made big enough to
// hold the whole burst, which leaves what this test is about — nothing lost while there is room,
// the accounting exact — the same.
class LosslessBurst : public ExactCounts {
 protected:
  void run(const std::string& mode, int calls, int threads, std::vector<std::string> options,
           const std::map<std::string, std::size_t>& per_iteration) {
    SCOPED_TRACE(mode);
    const std::string jsonl = dir_.path() + "/jsonl", console = dir_.path() + "/console.jsonl";
    start_burst(mode, calls, threads);
    options.insert(options.end(), {"--jsonl-dir", jsonl, "--console", "--prometheus",
                                   "127.0.0.1:" + std::to_string(port_)});
#ifdef PROFILIS_SANITIZED_AGENT
    options.insert(options.end(), {"--ring-buffer-size", "64M"});
#endif
    start_agent(options, console);
    const std::uint64_t iterations = run_burst();
    ASSERT_EQ(iterations, static_cast<std::uint64_t>(calls) * threads);
    std::size_t events = 0;
    for (const auto& [kind, n] : per_iteration) events += n * iterations;
    const auto all_delivered = [&](const std::string& text) {
      for (const char* sink : {"jsonl", "console", "prometheus"}) {
        if (sample(text, std::string("profilis_events_delivered_total{sink=\"") + sink + "\"}") !=
            static_cast<double>(events)) {
          return false;
        }
      }
      return true;
    };
    const std::string text = metrics_when(all_delivered, 60s);
    last_metrics_ = text;
    stop_agent();
    expect_exact_accounting(text, {"jsonl", "console", "prometheus"});
    EXPECT_EQ(sample(text, "profilis_events_produced_total"), static_cast<double>(events));
    for (const char* stage : {"kernel", "decoder", "jsonl", "console", "prometheus"}) {
      EXPECT_EQ(sample(text, std::string("profilis_events_dropped_total{stage=\"") + stage + "\"}"),
                0.0)
          << stage;
    }
    std::map<std::string, std::size_t> expected;
    for (const auto& [kind, n] : per_iteration) expected[kind] = n * iterations;
    EXPECT_EQ(count_kinds(jsonl_text(jsonl), "jsonl"), expected);
    EXPECT_EQ(count_kinds(read_file(console).value_or(""), "console"), expected);
    const Summary summary = parse_summary(agent_->err());
    EXPECT_EQ(summary.produced, events);
    for (const char* sink : {"jsonl", "console", "prometheus"}) {
      EXPECT_EQ(summary.delivered.at(sink), events) << sink;
    }
  }

  std::string last_metrics_;
};

TEST_F(LosslessBurst, shouldDeliverEveryCallOfA200000CallBurstToEverySink) {
  PROFILIS_REQUIRE_ROOT();
  run("fn", 200000, 1, {"--fn", "burst_target", "--db", "none"}, {{"FN", 1}});
  EXPECT_EQ(sum_samples(last_metrics_, "profilis_function_calls_total", "burst_target"), 200000.0);
}

TEST_F(LosslessBurst, shouldDeliverEveryCallWithJsonlRotatedEvery64KiB) {
  PROFILIS_REQUIRE_ROOT();
  run("fn", 200000, 1, {"--fn", "burst_target", "--db", "none", "--jsonl-rotate-bytes", "65536"},
      {{"FN", 1}});
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_.path() + "/jsonl")) ++files;
  EXPECT_GT(files, 100u);  // ~28 MB of lines: rotated hundreds of times, none lost
}

TEST_F(LosslessBurst, shouldDeliverEveryMarkerEventOfTwoThreads) {
  PROFILIS_REQUIRE_ROOT();
  run("markers", 50000, 2, {"--db", "none"}, {{"REQ", 1}, {"FN", 1}, {"DB", 1}});
  EXPECT_EQ(sum_samples(last_metrics_, "profilis_http_requests_total", "/burst/{id}"), 100000.0);
  EXPECT_EQ(sum_samples(last_metrics_, "profilis_function_calls_total", "burst_step"), 100000.0);
  EXPECT_EQ(sum_samples(last_metrics_, "profilis_db_queries_total", "sqlite"), 100000.0);
}

TEST_F(LosslessBurst, shouldDeliverEveryQueryOfASqliteBurst) {
  PROFILIS_REQUIRE_ROOT();
  run("sqlite", 100000, 1, {"--db", "sqlite"}, {{"DB", 1}});
  EXPECT_EQ(sum_samples(last_metrics_, "profilis_db_queries_total", "sqlite"), 100000.0);
}

TEST_F(ExactCounts, shouldCountEveryDropOfATinyRingBufferExactly) {
  PROFILIS_REQUIRE_ROOT();
  start_burst("fn", 200000, 2);
  const std::string jsonl = dir_.path() + "/jsonl";
  // The smallest ring and a slow sink: a JSONL file fsynced and renamed every 4 KiB.
  start_agent(
      {"--fn", "burst_target", "--db", "none", "--ring-buffer-size", "4K", "--jsonl-dir", jsonl,
       "--jsonl-rotate-bytes", "4096", "--prometheus", "127.0.0.1:" + std::to_string(port_)},
      "/dev/null");
  ASSERT_EQ(run_burst(), 400000u);
  const auto settled = [&](const std::string& text) {
    const auto produced = sample(text, "profilis_events_produced_total");
    const auto delivered = sample(text, R"(profilis_events_delivered_total{sink="jsonl"})");
    const auto kernel = sample(text, R"(profilis_events_dropped_total{stage="kernel"})");
    return produced == 400000.0 && delivered && kernel && *delivered + *kernel == *produced;
  };
  const std::string text = metrics_when(settled, 60s);
  stop_agent();
  expect_exact_accounting(text, {"jsonl", "prometheus"});
  EXPECT_EQ(sample(text, "profilis_events_produced_total"), 400000.0);
  EXPECT_GT(sample(text, R"(profilis_events_dropped_total{stage="kernel"})").value_or(0), 0.0);
  EXPECT_EQ(sample(text, R"(profilis_events_dropped_total{stage="jsonl"})"), 0.0);
  const auto lines = count_kinds(jsonl_text(jsonl), "jsonl");
  EXPECT_EQ(static_cast<double>(total(lines)),
            sample(text, R"(profilis_events_delivered_total{sink="jsonl"})").value_or(-1));
}

TEST_F(ExactCounts, shouldLoseOnlyTheConsolesCopiesWhenNobodyReadsItAndStillStopQuickly) {
  PROFILIS_REQUIRE_ROOT();
  // A pipe whose read end this test holds open and never reads: the console's writes block for
  // good once it is full.
  const std::string fifo = dir_.path() + "/stuck";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int hold = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(hold, 0);
  start_burst("fn", 100000, 1);
  const std::string jsonl = dir_.path() + "/jsonl";
  start_agent({"--fn", "burst_target", "--db", "none", "--console", "--jsonl-dir", jsonl,
               "--prometheus", "127.0.0.1:" + std::to_string(port_)},
              fifo);
  ASSERT_EQ(run_burst(), 100000u);
  // The console's queue is full and stuck: its events are neither delivered nor dropped until the
  // agent stops and gives up on it, so the equation is checked for it in the exit summary only.
  const auto settled = [&](const std::string& text) {
    return sample(text, R"(profilis_events_delivered_total{sink="jsonl"})") == 100000.0 &&
           sample(text, R"(profilis_events_delivered_total{sink="prometheus"})") == 100000.0 &&
           sample(text, R"(profilis_events_dropped_total{stage="console"})").value_or(0) > 0;
  };
  const std::string text = metrics_when(settled, 60s);
  const auto took = stop_agent();
  ::close(hold);
  EXPECT_LT(took, 1000ms) << agent_->err();
  expect_exact_accounting(text, {"jsonl", "prometheus"});
  const Summary summary = parse_summary(agent_->err());
  EXPECT_EQ(summary.produced, 100000u);
  EXPECT_GT(summary.dropped.at("console"), 0u);
  EXPECT_EQ(summary.delivered.at("console") + summary.dropped.at("console"), 100000u);
  EXPECT_EQ(summary.delivered.at("jsonl"), 100000u);
  EXPECT_EQ(summary.delivered.at("prometheus"), 100000u);
  EXPECT_EQ(total(count_kinds(jsonl_text(jsonl), "jsonl")), 100000u);
}

TEST_F(ExactCounts, shouldCountEveryEventWhenTheOnlySinkIsAConsoleNobodyReads) {
  PROFILIS_REQUIRE_ROOT();
  const std::string fifo = dir_.path() + "/stuck";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int hold = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(hold, 0);
  start_burst("fn", 200000, 1);
  // A lone sink is waited for, not left behind: the records wait in a small ring buffer, and the
  // kernel drops what does not fit. At the stop the console is given up on, and every event is
  // still accounted for.
  start_agent({"--fn", "burst_target", "--db", "none", "--ring-buffer-size", "64K"}, fifo);
  ASSERT_EQ(run_burst(), 200000u);
  const auto took = stop_agent();
  ::close(hold);
  EXPECT_LT(took, 3000ms) << agent_->err();
  const Summary summary = parse_summary(agent_->err());
  EXPECT_EQ(summary.produced, 200000u);
  EXPECT_GT(summary.dropped.at("kernel"), 0u);
  EXPECT_EQ(summary.delivered.at("console") + summary.dropped.at("console") +
                summary.dropped.at("kernel"),
            200000u)
      << agent_->err();
  EXPECT_EQ(agent_->err().find("warning"), std::string::npos) << agent_->err();
}

}  // namespace
}  // namespace profilis::e2e
