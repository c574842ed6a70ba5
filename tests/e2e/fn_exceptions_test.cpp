// End to end, issue 13: --fn on functions that C++ exceptions and longjmp leave
// (tests/fixtures/exceptions). With default options the program must come out unharmed (a
// uretprobe in a frame an exception unwinds ends it in std::terminate), every normal return must be
// reported exactly once with a duration within the fixture's own bounds, and a call that threw or
// was left by longjmp must give no event.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/agent_summary.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = 30s;
constexpr auto kRunTimeout = 120s;
// A reported duration must lie in [body_ns - kClockSlack, dur_ns + kLateSlack]: the probes fire
// between the fixture's two clock reads around the call and outside the function's own two (see
// exceptions.cpp), whatever the load, and bpf_ktime_get_ns is the fixture's CLOCK_MONOTONIC.
// The slacks are for that argument being wrong by a little (as in process_churn_test.cpp); a
// duration paired with another call is off by that call's time, and a return reported early (at
// a jump to the function's own cold part, say) is shorter than the body.
constexpr int64_t kClockSlack = 5'000;
constexpr int64_t kLateSlack = 50'000;
constexpr int kIterations = 600;
constexpr int kThreads = 2;

// What the agent was asked to trace, as it names them in events.
const std::vector<std::string> kTraced = {"exfx::validate(int)",
                                          "exfx::process(int)",
                                          "exfx::parse(int)",
                                          "exfx::handle(int)",
                                          "exfx::recurse(int, int)",
                                          "exfx::self_catch(int)",
                                          "exfx::rethrow(int)",
                                          "exfx::tail_outer(int)",
                                          "exfx::tail_inner(int)",
                                          "exfx::leaf_mix(unsigned int)",
                                          "exfx::jump_through(__jmp_buf_tag (*) [1], int)",
                                          "exfx::jumper(__jmp_buf_tag (*) [1], int)"};
// --fn patterns for them: names without parameters, matched exactly (no `.cold` parts).
const std::vector<std::string> kPatterns = {
    "exfx::validate",   "exfx::process",    "exfx::parse",        "exfx::handle",
    "exfx::recurse",    "exfx::self_catch", "exfx::rethrow",      "exfx::tail_outer",
    "exfx::tail_inner", "exfx::leaf_mix",   "exfx::jump_through", "exfx::jumper"};

struct Call {
  int64_t tid = 0;
  int64_t start_ns = 0;
  int64_t dur_ns = 0;
  int64_t body_ns = -1;  // the fixture's: -1 when the function could not time itself
};

using ByThread = std::map<int64_t, std::vector<Call>>;  // in start order

void sort_by_start(ByThread& calls) {
  for (auto& [tid, list] : calls) {
    std::sort(list.begin(), list.end(),
              [](const Call& a, const Call& b) { return a.start_ns < b.start_ns; });
  }
}

struct FixtureLog {
  std::map<std::string, ByThread> returned;                       // by fn
  std::map<std::string, std::map<std::string, size_t>> outcomes;  // fn -> outcome -> calls
};

FixtureLog fixture_log(const std::string& path) {
  FixtureLog log;
  for (const Json& j : read_json_lines(path)) {
    const auto fn = j.at("fn").get<std::string>();
    const auto outcome = j.at("outcome").get<std::string>();
    ++log.outcomes[fn][outcome];
    if (outcome != "return") continue;
    log.returned[fn][j.at("tid").get<int64_t>()].push_back(
        {j.at("tid").get<int64_t>(), j.at("start_ns").get<int64_t>(), j.at("dur_ns").get<int64_t>(),
         j.at("body_ns").get<int64_t>()});
  }
  for (auto& [fn, calls] : log.returned) sort_by_start(calls);
  return log;
}

std::map<std::string, ByThread> agent_events(const std::string& dir, int64_t pid) {
  std::map<std::string, ByThread> events;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const Json& j : parse_json_lines(read_file(entry.path()).value_or(""), entry.path())) {
      EXPECT_EQ(j.value("kind", ""), "FN") << j.dump();
      EXPECT_EQ(j.value("pid", int64_t{0}), pid) << j.dump();
      EXPECT_FALSE(j.value("error", true)) << j.dump();
      const int64_t tid = j.value("tid", int64_t{0});
      events[j.value("fn", "")][tid].push_back(
          {tid, j.value("ts_ns", int64_t{0}), j.value("dur_ns", int64_t{0}), -1});
    }
  }
  for (auto& [fn, calls] : events) sort_by_start(calls);
  return events;
}

size_t total(const ByThread& calls) {
  size_t n = 0;
  for (const auto& [tid, list] : calls) n += list.size();
  return n;
}

// Pairs one fn's events with the fixture's normal returns, per thread in start order: the same
// number, each duration within the fixture's bounds.
void expect_same_returns(const std::string& fn, const ByThread& want, const ByThread& got) {
  EXPECT_EQ(total(got), total(want)) << fn << ": events vs normal returns in the fixture's log";
  int failures = 0;
  for (const auto& [tid, calls] : want) {
    const auto found = got.find(tid);
    const size_t seen = found == got.end() ? 0 : found->second.size();
    EXPECT_EQ(seen, calls.size()) << fn << ", tid " << tid;
    for (size_t i = 0; i < std::min(seen, calls.size()) && failures < 5; ++i) {
      const Call& have = found->second[i];
      const Call& own = calls[i];
      const int64_t low = std::max<int64_t>(0, own.body_ns - kClockSlack);
      if (have.dur_ns >= low && have.dur_ns <= own.dur_ns + kLateSlack) continue;
      ++failures;
      ADD_FAILURE() << fn << ", tid " << tid << ", return #" << i << ": agent dur_ns "
                    << have.dur_ns << ", fixture dur_ns " << own.dur_ns << " body_ns "
                    << own.body_ns << " (bounds [" << low << ", " << own.dur_ns + kLateSlack
                    << "])";
    }
  }
  for (const auto& [tid, calls] : got) {
    EXPECT_TRUE(want.contains(tid)) << fn << ": " << calls.size() << " events on tid " << tid
                                    << ", where the fixture returned from no call";
  }
}

class FnExceptions : public ::testing::Test {
 protected:
  void start_fixture() {
    ASSERT_TRUE(fs::exists(EXCEPTIONS_FIXTURE)) << EXCEPTIONS_FIXTURE;
    fixture_ = std::make_unique<Process>(std::vector<std::string>{
        EXCEPTIONS_FIXTURE, log_path(), std::to_string(kIterations), std::to_string(kThreads)});
    ASSERT_TRUE(fixture_->wait_for_stderr("exceptions: ready", kStartTimeout)) << fixture_->err();
  }

  void start_agent(const std::vector<std::string>& options) {
    fs::create_directory(jsonl_dir());
    std::vector<std::string> argv = {
        PROFILIS_AGENT_BIN, "--pid",    std::to_string(fixture_->pid()), "--db", "none",
        "--jsonl-dir",      jsonl_dir()};
    for (const std::string& pattern : kPatterns) argv.insert(argv.end(), {"--fn", pattern});
    argv.insert(argv.end(), options.begin(), options.end());
    agent_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", kStartTimeout)) << agent_->err();
  }

  // The fixture must run to its end unharmed, and the agent stop when it has exited.
  void run_workload() {
    ASSERT_TRUE(fixture_->write_stdin("go\n"));
    const ExitStatus fixture = fixture_->wait(kRunTimeout);
    ASSERT_TRUE(fixture.exited() && fixture.code == 0) << "fixture: " << fixture.describe() << "\n"
                                                       << fixture_->err() << "\nagent:\n"
                                                       << agent_->err();
    const ExitStatus agent = agent_->wait(kRunTimeout);
    EXPECT_TRUE(agent.exited() && agent.code == 0) << agent.describe() << "\n" << agent_->err();
  }

  std::string log_path() const { return dir_.path() + "/calls.jsonl"; }
  std::string jsonl_dir() const { return dir_.path() + "/jsonl"; }

  TempDir dir_;
  std::unique_ptr<Process> fixture_;
  std::unique_ptr<Process> agent_;
};

TEST_F(FnExceptions, ProgramUnharmedAndEveryNormalReturnReportedOnce) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture());
  ASSERT_NO_FATAL_FAILURE(start_agent({}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  const FixtureLog log = fixture_log(log_path());
  // The workload is what the test means it to be: throws caught by the caller and farther up,
  // through recursion, and longjmps.
  for (const char* fn : {"exfx::validate(int)", "exfx::parse(int)", "exfx::handle(int)",
                         "exfx::recurse(int, int)", "exfx::rethrow(int)"}) {
    EXPECT_GT(log.outcomes.at(fn).at("threw"), 0u) << fn;
    EXPECT_GT(log.outcomes.at(fn).at("return"), 0u) << fn;
  }
  EXPECT_GT(log.outcomes.at("exfx::jumper(__jmp_buf_tag (*) [1], int)").at("longjmp"), 0u);

  const auto events = agent_events(jsonl_dir(), fixture_->pid());
  for (const auto& [fn, calls] : events) {
    EXPECT_TRUE(std::find(kTraced.begin(), kTraced.end(), fn) != kTraced.end())
        << total(calls) << " events for " << fn;
  }
  const ByThread none;
  for (const std::string& fn : kTraced) {
    const auto want = log.returned.find(fn);
    const auto got = events.find(fn);
    expect_same_returns(fn, want == log.returned.end() ? none : want->second,
                        got == events.end() ? none : got->second);
  }
  EXPECT_FALSE(events.contains("exfx::jumper(__jmp_buf_tag (*) [1], int)"));
  EXPECT_FALSE(events.contains("exfx::jump_through(__jmp_buf_tag (*) [1], int)"));
  EXPECT_EQ(summary_number(agent_->err(), R"((\d+) returns without an entry)").value_or(0), 0u)
      << agent_->err();
  EXPECT_EQ(summary_number(agent_->err(), R"(dropped: (\d+) in the kernel)"), 0u) << agent_->err();
  // Every call that threw or was left by longjmp is counted abandoned, once: each thread makes
  // traced calls after its last throw, which find the dead frames.
  size_t left = 0;
  for (const auto& [fn, outcomes] : log.outcomes) {
    if (std::find(kTraced.begin(), kTraced.end(), fn) == kTraced.end()) continue;  // qsort
    for (const auto& [outcome, calls] : outcomes) left += outcome == "return" ? 0 : calls;
  }
  EXPECT_EQ(summary_number(agent_->err(), R"((\d+) left by longjmp/unwind)"), left)
      << agent_->err();
}

// A C++ exception also passes through C code that calls back into C++: libc's qsort, given a
// comparator that throws (every third sort). libc is a C object — but not one no exception passes.
TEST_F(FnExceptions, ACFunctionAnExceptionUnwindsThroughIsTracedUnharmed) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture());
  fs::create_directory(jsonl_dir());
  agent_ = std::make_unique<Process>(std::vector<std::string>{
      PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture_->pid()), "--db", "none", "--fn",
      "libc.so.6:qsort", "--jsonl-dir", jsonl_dir(), "--verbose"});
  ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", kStartTimeout)) << agent_->err();
  ASSERT_NO_FATAL_FAILURE(run_workload());

  const FixtureLog log = fixture_log(log_path());
  EXPECT_GT(log.outcomes.at("qsort").at("threw"), 0u);
  const auto events = agent_events(jsonl_dir(), fixture_->pid());
  ASSERT_EQ(events.size(), 1u) << "events for qsort only";
  expect_same_returns("qsort", log.returned.at("qsort"), events.begin()->second);
  EXPECT_EQ(summary_number(agent_->err(), R"((\d+) left by longjmp/unwind)"),
            log.outcomes.at("qsort").at("threw"))
      << agent_->err();
}

// --verbose says, per function, how its returns are probed: at its exit instructions wherever an
// exception can pass (a function that calls, in a C++ program), by uretprobe in a leaf.
TEST_F(FnExceptions, VerboseNamesTheProbeWayOfEachFunction) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture());
  ASSERT_NO_FATAL_FAILURE(start_agent({"--verbose"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  // "profilis-agent: attached FN in OBJECT at offset 0x… (pid N); returns at its 2 exit
  // instructions: …" / "; returns by uretprobe: …" / "; returns never: …"
  std::map<std::string, std::string> way;
  std::istringstream lines(agent_->err());
  const std::regex attached(
      R"(attached (.*) in .* at offset 0x[0-9a-f]+ \(pid \d+\); returns (at its|by uretprobe|never))");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, attached)) continue;
    way[m[1]] = m[2] == "at its" ? "exits" : m[2] == "never" ? "never" : "uretprobe";
  }
  for (const std::string& fn : kTraced) {
    EXPECT_TRUE(way.contains(fn)) << "--verbose does not say how " << fn << " is probed:\n"
                                  << agent_->err();
  }
  for (const char* fn : {"exfx::validate(int)", "exfx::process(int)", "exfx::parse(int)",
                         "exfx::handle(int)", "exfx::recurse(int, int)", "exfx::self_catch(int)",
                         "exfx::rethrow(int)", "exfx::tail_outer(int)"}) {
    EXPECT_EQ(way[fn], "exits") << fn << " can be left by an exception";
  }
  EXPECT_EQ(way["exfx::leaf_mix(unsigned int)"], "uretprobe") << "a leaf: no exception can pass";
  EXPECT_NE(way["exfx::jumper(__jmp_buf_tag (*) [1], int)"], "uretprobe") << "it calls longjmp";
}

}  // namespace
}  // namespace profilis::e2e
