// End to end, issue 13: --fn on a Go executable (tests/fixtures/go). A uretprobe kills a Go
// program whose stack grows under it ("fatal error: unknown caller pc" in copystack), and its
// goroutines move between threads whenever they block: with default options the agent must probe
// Go functions at their exit instructions, pair calls per goroutine, and report every normal
// return of thousands of goroutines exactly once, with durations within the program's own bounds;
// `--fn-returns uretprobes` on a Go executable is refused (exit 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/http_client.h"
#include "tests/e2e/agent_summary.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = 30s;
constexpr auto kRunTimeout = 180s;
// As in fn_exceptions_test.cpp: the probes fire between the caller's two time.Now() reads and
// outside the function's own (Go's monotonic clock is CLOCK_MONOTONIC, bpf_ktime_get_ns's).
constexpr int64_t kClockSlack = 5'000;
constexpr int64_t kLateSlack = 50'000;

const std::vector<std::string> kTraced = {"main.handler", "main.grow", "main.recoverer",
                                          "main.mayPanic"};

struct Bounds {
  std::vector<int64_t> low;   // body_ns, or 0 where the function did not time itself
  std::vector<int64_t> high;  // dur_ns
};

struct GoLog {
  std::map<std::string, Bounds> returned;                         // by fn
  std::map<std::string, std::map<std::string, size_t>> outcomes;  // fn -> outcome -> calls
};

GoLog go_log(const std::string& path) {
  GoLog log;
  for (const Json& j : read_json_lines(path)) {
    const auto fn = j.at("fn").get<std::string>();
    const auto outcome = j.at("outcome").get<std::string>();
    ++log.outcomes[fn][outcome];
    if (outcome != "return") continue;
    log.returned[fn].low.push_back(std::max<int64_t>(0, j.at("body_ns").get<int64_t>()));
    log.returned[fn].high.push_back(j.at("dur_ns").get<int64_t>());
  }
  return log;
}

// The agent's durations by fn.
std::map<std::string, std::vector<int64_t>> agent_durations(const std::string& dir, int64_t pid) {
  std::map<std::string, std::vector<int64_t>> durations;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const Json& j : parse_json_lines(read_file(entry.path()).value_or(""), entry.path())) {
      EXPECT_EQ(j.value("kind", ""), "FN") << j.dump();
      EXPECT_EQ(j.value("pid", int64_t{0}), pid) << j.dump();
      durations[j.value("fn", "")].push_back(j.value("dur_ns", int64_t{0}));
    }
  }
  return durations;
}

// Goroutines carry no id the agent reports, and move between threads, so events cannot be paired
// with the log's calls one by one. But when each event lies in its own call's [low, high], the
// k-th shortest event lies between the k-th smallest low and the k-th smallest high: checked here,
// with the counts. A call paired with another goroutine's entry, or ended at the wrong place,
// shifts the sorted durations out of these bands.
void expect_same_returns(const std::string& fn, Bounds want, std::vector<int64_t> got) {
  EXPECT_EQ(got.size(), want.low.size()) << fn << ": events vs normal returns in the log";
  std::sort(want.low.begin(), want.low.end());
  std::sort(want.high.begin(), want.high.end());
  std::sort(got.begin(), got.end());
  size_t outside = 0;
  for (size_t k = 0; k < std::min(got.size(), want.low.size()); ++k) {
    if (got[k] >= want.low[k] - kClockSlack && got[k] <= want.high[k] + kLateSlack) continue;
    if (++outside <= 5) {
      ADD_FAILURE() << fn << ": the " << k << "-th shortest event lasted " << got[k]
                    << " ns, outside [" << want.low[k] << ", " << want.high[k]
                    << "] (the k-th smallest body and call durations of the log)";
    }
  }
  EXPECT_EQ(outside, 0u) << fn;
}

class GoFn : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(GO_FIXTURE).empty()) PROFILIS_SKIP_OUTSIDE_CI("go was not found at configure");
  }

  void start_fixture(const std::vector<std::string>& args, const std::string& ready) {
    ASSERT_TRUE(fs::exists(GO_FIXTURE)) << GO_FIXTURE;
    std::vector<std::string> argv = {GO_FIXTURE};
    argv.insert(argv.end(), args.begin(), args.end());
    fixture_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(fixture_->wait_for_stderr(ready, kStartTimeout)) << fixture_->err();
  }

  void start_agent(const std::vector<std::string>& options) {
    fs::create_directory(jsonl_dir());
    std::vector<std::string> argv = {
        PROFILIS_AGENT_BIN, "--pid",    std::to_string(fixture_->pid()), "--db", "none",
        "--jsonl-dir",      jsonl_dir()};
    argv.insert(argv.end(), options.begin(), options.end());
    agent_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", kStartTimeout)) << agent_->err();
  }

  void run_workload() {
    ASSERT_TRUE(fixture_->write_stdin("go\n"));
    const ExitStatus fixture = fixture_->wait(kRunTimeout);
    ASSERT_TRUE(fixture.exited() && fixture.code == 0)
        << "fixture: " << fixture.describe() << "\n"
        << fixture_->err().substr(0, 4000) << "\nagent:\n"
        << agent_->err();
    const ExitStatus agent = agent_->wait(kRunTimeout);
    EXPECT_TRUE(agent.exited() && agent.code == 0) << agent.describe() << "\n" << agent_->err();
  }

  std::vector<std::string> fn_options() const {
    std::vector<std::string> options;
    for (const std::string& fn : kTraced) options.insert(options.end(), {"--fn", fn});
    return options;
  }

  std::string log_path() const { return dir_.path() + "/calls.jsonl"; }
  std::string jsonl_dir() const { return dir_.path() + "/jsonl"; }

  TempDir dir_;
  std::unique_ptr<Process> fixture_;
  std::unique_ptr<Process> agent_;
};

// 2 000 goroutines on GOMAXPROCS=2, each parked in a sleep (resumed on whichever thread is free)
// and growing its stack from 8 KiB past 64 KiB inside 25 nested traced calls; a quarter of the
// mayPanic calls panic, recovered by the traced caller.
TEST_F(GoFn, ThousandsOfGoroutinesEveryReturnReportedOnce) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture({log_path(), "2000", "2", "24"}, "gofixture: ready"));
  auto options = fn_options();
  // Room for the whole run's ~112 000 events however late the agent reads: drops are not what
  // this test is about (they would fail it).
  options.insert(options.end(), {"--ring-buffer-size", "64M"});
  ASSERT_NO_FATAL_FAILURE(start_agent(options));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  const GoLog log = go_log(log_path());
  EXPECT_EQ(log.outcomes.at("main.handler").at("return"), 4000u) << "fixture workload changed?";
  EXPECT_EQ(log.outcomes.at("main.grow").at("return"), 100000u) << "fixture workload changed?";
  EXPECT_EQ(log.outcomes.at("main.mayPanic").at("panicked"), 1000u);
  const auto durations = agent_durations(jsonl_dir(), fixture_->pid());
  for (const auto& [fn, list] : durations) {
    EXPECT_TRUE(std::find(kTraced.begin(), kTraced.end(), fn) != kTraced.end())
        << list.size() << " events for " << fn;
  }
  for (const std::string& fn : kTraced) {
    const auto got = durations.find(fn);
    expect_same_returns(fn, log.returned.at(fn),
                        got == durations.end() ? std::vector<int64_t>{} : got->second);
  }
  EXPECT_EQ(summary_number(agent_->err(), R"((\d+) returns without an entry)").value_or(0), 0u)
      << agent_->err();
  EXPECT_EQ(summary_number(agent_->err(), R"(dropped: (\d+) in the kernel)"), 0u) << agent_->err();
  // At least the panicked calls are counted abandoned (exactly those: see
  // ACallRestartedAfterPreemptionIsOneCall).
  EXPECT_GE(summary_number(agent_->err(), R"((\d+) left by longjmp/unwind)").value_or(0), 1000u)
      << agent_->err();
}

// A goroutine asked to stop at a function's prologue (a preemption request: the runtime sets the
// stack guard so that the prologue calls morestack) is descheduled there, its stack not copied, and
// later restarts the function from its entry: the entry probe fires twice for one call, at the same
// stack pointer. That is one call, not a call abandoned and another begun — and its duration starts
// at the first entry. GOGC=5: frequent collections, whose stack scans make such requests often.
// Nothing here leaves a call without returning, so nothing may be counted abandoned.
TEST_F(GoFn, ACallRestartedAfterPreemptionIsOneCall) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_TRUE(fs::exists(GO_FIXTURE)) << GO_FIXTURE;
  fixture_ = std::make_unique<Process>(
      std::vector<std::string>{"env", "GOGC=5", GO_FIXTURE, log_path(), "2000", "2", "24"});
  ASSERT_TRUE(fixture_->wait_for_stderr("gofixture: ready", kStartTimeout)) << fixture_->err();
  ASSERT_NO_FATAL_FAILURE(
      start_agent({"--fn", "main.handler", "--fn", "main.grow", "--ring-buffer-size", "64M"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());
  const GoLog log = go_log(log_path());
  const auto durations = agent_durations(jsonl_dir(), fixture_->pid());
  for (const char* fn : {"main.handler", "main.grow"}) {
    const auto got = durations.find(fn);
    expect_same_returns(fn, log.returned.at(fn),
                        got == durations.end() ? std::vector<int64_t>{} : got->second);
  }
  EXPECT_EQ(summary_number(agent_->err(), R"((\d+) left by longjmp/unwind)").value_or(0), 0u)
      << agent_->err();
}

// A call left by a panic stays open until the goroutine's next traced call or return finds it
// dead. With main.mayPanic traced alone, that is its next call, made at the same position on the
// stack — after handler grew the stack (it moved). That is a new call, not the dead one restarted
// by the runtime after a stack growth at its prologue (which also re-enters at the same position on
// a moved stack): its duration starts at its own entry, and the panicked call is counted abandoned.
TEST_F(GoFn, ACallAfterAPanicAndAStackMoveIsANewCall) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture({log_path(), "2000", "2", "24"}, "gofixture: ready"));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "main.mayPanic", "--ring-buffer-size", "64M"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());
  const GoLog log = go_log(log_path());
  const auto durations = agent_durations(jsonl_dir(), fixture_->pid());
  const auto got = durations.find("main.mayPanic");
  expect_same_returns("main.mayPanic", log.returned.at("main.mayPanic"),
                      got == durations.end() ? std::vector<int64_t>{} : got->second);
  EXPECT_EQ(summary_number(agent_->err(), R"((\d+) left by longjmp/unwind)").value_or(0),
            log.outcomes.at("main.mayPanic").at("panicked"))
      << agent_->err();
}

TEST_F(GoFn, VerboseSaysEveryFunctionIsProbedAtItsExitInstructions) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture({log_path(), "100", "1", "24"}, "gofixture: ready"));
  auto options = fn_options();
  options.push_back("--verbose");
  ASSERT_NO_FATAL_FAILURE(start_agent(options));
  ASSERT_NO_FATAL_FAILURE(run_workload());
  for (const std::string& fn : kTraced) {
    bool said = false;
    std::istringstream lines(agent_->err());
    for (std::string line; std::getline(lines, line);) {
      said = said || (line.find("attached " + fn + " in ") != std::string::npos &&
                      line.find("; returns at its ") != std::string::npos &&
                      line.find("per goroutine") != std::string::npos);
    }
    EXPECT_TRUE(said) << "--verbose does not say " << fn << " is probed at its exit instructions:\n"
                      << agent_->err();
  }
}

TEST_F(GoFn, UretprobesOnAGoExecutableExit2AndLeaveItAlone) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture({log_path(), "100", "1", "24"}, "gofixture: ready"));
  std::string err;
  const ExitStatus agent = run({PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture_->pid()),
                                "--db", "none", "--fn", "main.grow", "--fn-returns", "uretprobes"},
                               kStartTimeout, nullptr, &err);
  EXPECT_TRUE(agent.exited() && agent.code == 2) << agent.describe() << "\n" << err;
  EXPECT_NE(err.find("--fn-returns"), std::string::npos) << err;
  ASSERT_TRUE(fixture_->write_stdin("go\n"));
  const ExitStatus fixture = fixture_->wait(kRunTimeout);
  EXPECT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << "\n"
                                                     << fixture_->err().substr(0, 4000);
}

// net/http's connection goroutines: each request runs in (*conn).serve, on a goroutine of its own
// that starts small and grows, and blocks in reads; one event per connection and per request.
TEST_F(GoFn, NetHttpServerEveryConnectionAndRequestReportedOnce) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture({"--http"}, "gofixture: listening on"));
  std::smatch m;
  const std::string err = fixture_->err();
  ASSERT_TRUE(std::regex_search(err, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))"))) << err;
  const int port = std::stoi(m[1]);
  ASSERT_NO_FATAL_FAILURE(
      start_agent({"--fn", "main.serveHello", "--fn", "net/http.(?conn).serve"}));
  constexpr int kRequests = 300;
  int served = 0;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&ok, port, c] {
      for (int i = 0; i < kRequests / 3; ++i) {
        const auto res = testutil::http_get(port, "/c" + std::to_string(c));
        ok += res && res->status == 200 ? 1 : 0;
      }
    });
  }
  for (auto& client : clients) client.join();
  served = ok.load();
  EXPECT_EQ(served, kRequests);
  // The server closes a connection in (*conn).serve's deferred function, just before it returns:
  // give the last ones time to return before the program exits.
  std::this_thread::sleep_for(300ms);
  fixture_->close_stdin();
  const ExitStatus fixture = fixture_->wait(kRunTimeout);
  EXPECT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << "\n"
                                                     << fixture_->err().substr(0, 4000);
  const ExitStatus agent = agent_->wait(kRunTimeout);
  EXPECT_TRUE(agent.exited() && agent.code == 0) << agent.describe() << "\n" << agent_->err();
  const auto durations = agent_durations(jsonl_dir(), fixture_->pid());
  EXPECT_EQ(durations.contains("main.serveHello") ? durations.at("main.serveHello").size() : 0u,
            size_t(served));
  EXPECT_EQ(durations.contains("net/http.(*conn).serve")
                ? durations.at("net/http.(*conn).serve").size()
                : 0u,
            size_t(served))
      << "events by fn: " << [&] {
           std::string names;
           for (const auto& [fn, list] : durations)
             names += fn + " " + std::to_string(list.size()) + "; ";
           return names;
         }();
}

}  // namespace
}  // namespace profilis::e2e
