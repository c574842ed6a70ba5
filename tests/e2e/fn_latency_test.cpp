// End to end: the agent traces the fn_fixture program (PIE and non-PIE) and what it reports is
// compared with the fixture's own measurement of every call.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/container_cgroup.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = 30s;  // agent start: symbol lookup, BPF load, attach
constexpr auto kRunTimeout = 60s;
// Each agent duration must be within 3% of the fixture's, and lie between the fixture's two clocks
// (see fn_fixture.cpp): at least the function body's time, at most the caller's. The fixture's
// interval also holds the probe traps' overhead outside the agent's (20-60 us a call on a 2-vCPU
// VM), and a thread preempted there (4 fixture threads wake together) makes it longer still: up to
// 0.9 ms, on a loaded machine, for 2 ms calls. Where the fixture's two clocks themselves differ by
// more than 3%, so that its duration is no reference to 3%, the bounds are the check. A wrong
// pairing is off by a whole call (2 ms or more), far outside them.
// Relative, |agent - fixture| / fixture, against the nearer of the fixture's two timings of each
// call: around the call (which also holds the two probe traps, 5-30 us each on this VM) and of the
// body (which leaves out any preemption between a trap and the body's first clock read). A correct
// agent lies between the two, so a noisy neighbour cannot fail it, but a wrong pairing can.
constexpr double kMaxDurationError = 0.03;
constexpr int64_t kClockSlack = 5'000;  // ns, for the agent's and the fixture's different clocks
constexpr int64_t kMaxStartError = 2'000'000;  // ns, agent ts_ns vs fixture start_ns

// Whatever it was that the fixture or the agent saw of one call.
struct Call {
  std::string fn;
  int64_t pid = 0;  // 0 for the fixture's records: they are all its own
  int64_t tid = 0;
  int64_t start_ns = 0;
  int64_t dur_ns = 0;
  int64_t body_ns = -1;  // the fixture's: time inside the function, -1 when not timed
  int64_t end_ns() const { return start_ns + dur_ns; }
};

std::vector<Call> fixture_calls(const std::string& timings_path) {
  std::vector<Call> calls;
  const auto text = read_file(timings_path);
  if (!text) {
    ADD_FAILURE() << "the fixture wrote no timings file " << timings_path;
    return calls;
  }
  for (const Json& j : parse_json_lines(*text, timings_path)) {
    calls.push_back({j.at("fn").get<std::string>(), 0, j.at("tid").get<int64_t>(),
                     j.at("start_ns").get<int64_t>(), j.at("dur_ns").get<int64_t>(),
                     j.at("body_ns").get<int64_t>()});
  }
  return calls;
}

// The JSON lines of every finished JSONL file in `dir`.
std::vector<Json> agent_lines(const std::string& dir) {
  std::vector<Json> lines;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    const auto text = read_file(entry.path());
    for (Json& j : parse_json_lines(text.value_or(""), entry.path())) lines.push_back(std::move(j));
  }
  return lines;
}

// Checks the fields every FN event must have, in the order docs/design.md §3 gives, and returns the
// call.
Call agent_call(const Json& j, pid_t pid, const std::string& comm) {
  static const std::vector<std::string> kOrder = {"ts_ns", "kind", "fn",   "error",  "dur_ns",
                                                  "pid",   "tid",  "comm", "service"};
  EXPECT_EQ(keys_without_container_fields(j), kOrder) << j.dump();
  EXPECT_EQ(j.value("kind", ""), "FN") << j.dump();
  EXPECT_EQ(j.value("error", true), false) << j.dump();
  EXPECT_EQ(j.value("pid", int64_t{0}), pid) << j.dump();
  EXPECT_EQ(j.value("comm", ""), comm) << j.dump();
  EXPECT_EQ(j.value("service", ""), comm) << "service defaults to the comm: " << j.dump();
  return {j.value("fn", ""), j.value("pid", int64_t{0}), j.value("tid", int64_t{0}),
          j.value("ts_ns", int64_t{0}), j.value("dur_ns", int64_t{0})};
}

std::map<std::string, std::vector<Call>> by_fn(const std::vector<Call>& calls) {
  std::map<std::string, std::vector<Call>> groups;
  for (const Call& call : calls) groups[call.fn].push_back(call);
  return groups;
}

std::map<int64_t, std::vector<Call>> by_tid_in_start_order(const std::vector<Call>& calls) {
  std::map<int64_t, std::vector<Call>> groups;
  for (const Call& call : calls) groups[call.tid].push_back(call);
  for (auto& [tid, group] : groups) {
    std::sort(group.begin(), group.end(),
              [](const Call& a, const Call& b) { return a.start_ns < b.start_ns; });
  }
  return groups;
}

// How well the agent's calls agreed with the fixture's, over all matched calls.
struct Accuracy {
  size_t matched = 0;
  std::vector<double> duration_errors;  // relative, absolute value
  double max_duration_error = 0;        // relative
  std::string worst_call;
  int64_t max_start_error_ns = 0;
  size_t over_tolerance = 0;  // calls past 3%
};

std::string describe_pair(const std::string& fn, int64_t tid, size_t i, const Call& have,
                          const Call& want) {
  std::ostringstream text;
  text << fn << ", tid " << tid << ", call #" << i << ": agent ts_ns " << have.start_ns
       << " dur_ns " << have.dur_ns << "; fixture start_ns " << want.start_ns << " dur_ns "
       << want.dur_ns << " body_ns " << want.body_ns;
  return text.str();
}

double duration_error(const Call& have, const Call& want) {
  const double vs_call = std::abs(double(have.dur_ns - want.dur_ns)) / double(want.dur_ns);
  const double vs_body = std::abs(double(have.dur_ns - want.body_ns)) / double(want.body_ns);
  return std::min(vs_call, vs_body);
}

void record(const std::string& fn, int64_t tid, size_t i, const Call& have, const Call& want,
            Accuracy& accuracy) {
  const double error = duration_error(have, want);
  ++accuracy.matched;
  accuracy.duration_errors.push_back(error);
  accuracy.max_start_error_ns =
      std::max(accuracy.max_start_error_ns, std::abs(have.start_ns - want.start_ns));
  if (error > accuracy.max_duration_error) {
    accuracy.max_duration_error = error;
    accuracy.worst_call = describe_pair(fn, tid, i, have, want);
  }
  if (error > kMaxDurationError) ++accuracy.over_tolerance;
}

// Checks one matched call; returns false when it failed (so that the caller can stop reporting).
bool check_pair(const std::string& fn, int64_t tid, size_t i, const Call& have, const Call& want,
                Accuracy& accuracy) {
  record(fn, tid, i, have, want, accuracy);
  const double error = duration_error(have, want);
  // The probes fire just outside the body and just inside the call: the agent's duration can be
  // neither shorter than the body nor longer than the call as the caller saw it.
  const bool in_bounds = want.body_ns > 0 && have.dur_ns >= want.body_ns - kClockSlack &&
                         have.dur_ns <= want.dur_ns + kClockSlack;
  // Where the fixture's two clocks differ by more than twice the tolerance (a preemption between
  // them), a duration can lie between them and be off by more than 3 % from both: there the bounds
  // are the check, as the comment at kMaxDurationError says.
  const bool clocks_apart =
      double(want.dur_ns - want.body_ns) > 2 * kMaxDurationError * double(want.body_ns);
  const bool within = std::abs(error) <= kMaxDurationError || (clocks_apart && in_bounds);
  // The entry probe fires somewhere between the caller's clock read and the body: as late as the
  // call's time outside the body (a preemption there) after the caller's start.
  const int64_t start_error = have.start_ns - want.start_ns;
  const bool start_ok =
      start_error >= -kMaxStartError &&
      start_error <= kMaxStartError + std::max<int64_t>(0, want.dur_ns - have.dur_ns);
  if (in_bounds && within && start_ok) return true;
  ADD_FAILURE() << describe_pair(fn, tid, i, have, want) << ": duration off by " << error * 100
                << "%" << (in_bounds ? "" : ", outside [body_ns, dur_ns]") << ", start off by "
                << have.start_ns - want.start_ns << " ns";
  return false;
}

// Pairs the agent's calls of one fn with the fixture's, per thread in start order, and checks
// counts, start times and durations.
void expect_same_calls(const std::string& fn, const std::vector<Call>& fixture,
                       const std::vector<Call>& agent, Accuracy& accuracy) {
  EXPECT_EQ(agent.size(), fixture.size()) << fn << ": agent events vs calls the fixture made";
  const auto fixture_by_tid = by_tid_in_start_order(fixture);
  const auto agent_by_tid = by_tid_in_start_order(agent);
  for (const auto& [tid, agent_calls] : agent_by_tid) {
    EXPECT_TRUE(fixture_by_tid.contains(tid))
        << fn << ": " << agent_calls.size() << " events for tid " << tid
        << ", where the fixture made no call";
  }
  int failures = 0;  // failures printed for this fn, so that a wholesale mismatch stays readable
  for (const auto& [tid, expected] : fixture_by_tid) {
    const auto found = agent_by_tid.find(tid);
    const size_t got = found == agent_by_tid.end() ? 0 : found->second.size();
    EXPECT_EQ(got, expected.size()) << fn << ", tid " << tid << ": agent events vs fixture calls";
    for (size_t i = 0; i < std::min(got, expected.size()) && failures < 5; ++i) {
      if (!check_pair(fn, tid, i, found->second[i], expected[i], accuracy)) ++failures;
    }
  }
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

// Every call must lie wholly inside the call open before it, or start after that one ended; a
// partial overlap means entries and returns were paired wrongly. Checks the shape of fx_recurse:
// `roots` top-level calls, each a chain `depth` deep.
void expect_nesting(const std::vector<Call>& calls, size_t roots, size_t depth) {
  for (const auto& [tid, ordered] : by_tid_in_start_order(calls)) {
    std::vector<Call> open;
    size_t top_level = 0, deepest = 0;
    for (const Call& call : ordered) {
      while (!open.empty() && open.back().end_ns() <= call.start_ns) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(call.end_ns(), open.back().end_ns())
            << "fx_recurse on tid " << tid << ": a call starting at " << call.start_ns
            << " ends after its caller (started " << open.back().start_ns << ")";
      } else {
        ++top_level;
      }
      open.push_back(call);
      deepest = std::max(deepest, open.size());
    }
    EXPECT_EQ(top_level, roots) << "fx_recurse: top-level calls on tid " << tid;
    EXPECT_EQ(deepest, depth) << "fx_recurse: deepest nesting on tid " << tid;
  }
}

std::string comm_of(pid_t pid) {
  std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm").value_or("");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

struct FixtureBinary {
  const char* name;
  const char* path;
  uint16_t elf_type;    // ET_DYN (3) for PIE, ET_EXEC (2) otherwise
  const char* returns;  // --fn-returns
};

void PrintTo(const FixtureBinary& fixture, std::ostream* os) { *os << fixture.name; }

// One traced run: the fixture started and waiting, the agent attached to it, output in a fresh
// directory. Processes left running are killed when the test ends.
class TracedRun : public ::testing::Test {
 protected:
  void start_fixture(const std::string& binary) {
    ASSERT_TRUE(fs::exists(binary)) << binary;
    fixture_ = std::make_unique<Process>(std::vector<std::string>{binary, timings_path()});
    ASSERT_TRUE(fixture_->wait_for_stderr("fn_fixture: ready", kStartTimeout))
        << "fixture did not start: " << fixture_->err();
    comm_ = comm_of(fixture_->pid());
  }

  void start_agent(const std::vector<std::string>& options) {
    ASSERT_TRUE(fs::exists(PROFILIS_AGENT_BIN)) << PROFILIS_AGENT_BIN;
    fs::create_directory(jsonl_dir());
    std::vector<std::string> argv = {PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture_->pid())};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"--jsonl-dir", jsonl_dir()});
    agent_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", kStartTimeout))
        << "agent did not report tracing; stderr:\n"
        << agent_->err();
  }

  // Lets the fixture run its workload; both must then end by themselves with exit code 0.
  void run_workload() {
    ASSERT_TRUE(fixture_->write_stdin("go\n"));
    const ExitStatus fixture = fixture_->wait(kRunTimeout);
    ASSERT_TRUE(fixture.exited() && fixture.code == 0) << "fixture: " << fixture.describe() << "\n"
                                                       << fixture_->err();
    const ExitStatus agent = agent_->wait(kRunTimeout);
    EXPECT_TRUE(agent.exited() && agent.code == 0) << "agent: " << agent.describe() << "\n"
                                                   << agent_->err();
    EXPECT_NE(agent_->err().find("all traced processes exited"), std::string::npos)
        << agent_->err();
  }

  std::vector<Call> agent_calls() {
    std::vector<Call> calls;
    for (const Json& j : agent_lines(jsonl_dir())) {
      calls.push_back(agent_call(j, fixture_->pid(), comm_));
    }
    return calls;
  }

  std::string timings_path() const { return dir_.path() + "/timings.jsonl"; }
  std::string jsonl_dir() const { return dir_.path() + "/jsonl"; }

  TempDir dir_;
  std::unique_ptr<Process> fixture_;
  std::unique_ptr<Process> agent_;
  std::string comm_;
};

class FnLatencyTest : public TracedRun, public ::testing::WithParamInterface<FixtureBinary> {
 protected:
  void SetUp() override {
    const auto header = read_file(GetParam().path).value_or("");
    ASSERT_GE(header.size(), 18u) << GetParam().path;
    // e_type (little-endian) says whether this build really is the PIE or non-PIE one.
    EXPECT_EQ(uint8_t(header[16]) | uint8_t(header[17]) << 8, GetParam().elf_type);
  }
};

void report(const Accuracy& accuracy) {
  const double pct = accuracy.max_duration_error * 100;
  ::testing::Test::RecordProperty("matched_calls", std::to_string(accuracy.matched));
  ::testing::Test::RecordProperty("max_duration_error_pct", std::to_string(pct));
  ::testing::Test::RecordProperty("median_duration_error_pct",
                                  std::to_string(median(accuracy.duration_errors) * 100));
  ::testing::Test::RecordProperty("calls_over_3pct", std::to_string(accuracy.over_tolerance));
  ::testing::Test::RecordProperty("max_start_error_ns",
                                  std::to_string(accuracy.max_start_error_ns));
  std::cout << "[ accuracy ] " << accuracy.matched << " calls matched; largest duration error "
            << pct << "% (" << accuracy.worst_call << "); median "
            << median(accuracy.duration_errors) * 100 << "%; " << accuracy.over_tolerance
            << " calls over 3%; largest start error " << accuracy.max_start_error_ns << " ns\n";
}

TEST_P(FnLatencyTest, ReportsEveryCallWithTheFixturesTimings) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(GetParam().path));
  ASSERT_NO_FATAL_FAILURE(
      start_agent({"--fn", "fx_sleep_ms", "--fn", "fx_recurse", "--fn", "fx_threaded", "--fn",
                   "fixture::Worker::step", "--fn", "fx_abandoned", "--fn", "fx_tail_*",
                   "--fn-returns", GetParam().returns}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  auto expected = by_fn(fixture_calls(timings_path()));
  auto got = by_fn(agent_calls());
  const std::vector<std::string> traced = {
      "fx_sleep_ms",  "fx_recurse",    "fx_threaded",  "fixture::Worker::step(int)",
      "fx_abandoned", "fx_tail_outer", "fx_tail_inner"};
  for (const auto& [fn, calls] : got) {
    EXPECT_TRUE(std::find(traced.begin(), traced.end(), fn) != traced.end())
        << calls.size() << " events for an untraced fn: " << fn;
  }
  EXPECT_EQ(expected["fx_sleep_ms"].size(), 35u) << "fixture workload changed?";
  EXPECT_EQ(expected["fx_recurse"].size(), 25u) << "fixture workload changed?";
  EXPECT_EQ(got["fx_abandoned"].size(), 0u) << "fx_abandoned never returns: no event expected";
  EXPECT_EQ(expected["fx_tail_inner"].size(), 10u) << "fixture workload changed?";

  Accuracy accuracy;
  for (const std::string& fn : traced) {
    expect_same_calls(fn, expected[fn], got[fn], accuracy);
  }
  expect_nesting(got["fx_recurse"], 5, 5);
  report(accuracy);
}

// Issue 13: the same plain C functions probed at their own exit instructions and by uretprobes,
// one run after the other on the same binary, give the same calls: the same counts per function
// and thread, each within the fixture's bounds — fx_tail_outer too: a tail call goes on in the
// function it jumps to, with either way.
TEST_P(FnLatencyTest, ExitInstructionsReportTheSameCallsAsUretprobes) {
  PROFILIS_REQUIRE_ROOT();
  // Once per binary: the parameters' --fn-returns is this test's own to choose.
  if (std::string(GetParam().returns) != "uretprobes") return;
  const std::vector<std::string> traced = {
      "fx_sleep_ms",  "fx_recurse",    "fx_threaded",  "fixture::Worker::step(int)",
      "fx_abandoned", "fx_tail_outer", "fx_tail_inner"};
  std::map<std::string, std::map<std::string, size_t>> counts;  // mode -> fn -> events
  for (const std::string mode : {"uretprobes", "exits"}) {
    SCOPED_TRACE("--fn-returns " + mode);
    ASSERT_NO_FATAL_FAILURE(start_fixture(GetParam().path));
    ASSERT_NO_FATAL_FAILURE(
        start_agent({"--fn", "fx_sleep_ms", "--fn", "fx_recurse", "--fn", "fx_threaded", "--fn",
                     "fixture::Worker::step", "--fn", "fx_abandoned", "--fn", "fx_tail_*",
                     "--fn-returns", mode}));
    ASSERT_NO_FATAL_FAILURE(run_workload());
    auto expected = by_fn(fixture_calls(timings_path()));
    auto got = by_fn(agent_calls());
    EXPECT_EQ(got.size(), traced.size() - 1) << "events for every traced fn but fx_abandoned";
    Accuracy accuracy;
    for (const std::string& fn : traced) {
      counts[mode][fn] = got[fn].size();
      expect_same_calls(fn, expected[fn], got[fn], accuracy);
    }
    expect_nesting(got["fx_recurse"], 5, 5);
    EXPECT_NE(agent_->err().find(" 0 returns without an entry, 50 left by longjmp/unwind"),
              std::string::npos)
        << agent_->err();
    report(accuracy);
    // The next run gets fresh files in the same places.
    fixture_.reset();
    agent_.reset();
    fs::remove_all(jsonl_dir());
    fs::remove(timings_path());
  }
  EXPECT_EQ(counts["exits"], counts["uretprobes"]);
}

TEST_P(FnLatencyTest, GlobSelectsMatchingFunctionsOnly) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(GetParam().path));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_s*"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  auto expected = by_fn(fixture_calls(timings_path()));
  auto got = by_fn(agent_calls());
  for (const auto& [fn, calls] : got) {
    EXPECT_EQ(fn, "fx_sleep_ms") << calls.size() << " events for a fn 'fx_s*' does not match";
  }
  Accuracy accuracy;
  expect_same_calls("fx_sleep_ms", expected["fx_sleep_ms"], got["fx_sleep_ms"], accuracy);
  report(accuracy);
}

// glibc 2.36's nanosleep is its own exported function (it calls __clock_nanosleep directly, not
// through the PLT), and the fixture calls it directly for every sleep.
// A function several --fn patterns match is probed once: each call is one event, and no return
// is counted as having no entry.
TEST_P(FnLatencyTest, AFunctionMatchedByTwoPatternsIsProbedOnce) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(GetParam().path));
  ASSERT_NO_FATAL_FAILURE(
      start_agent({"--fn", "fx_sleep_ms", "--fn", "fx_s*", "--fn", "fx_sleep_ms"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  auto expected = by_fn(fixture_calls(timings_path()));
  auto got = by_fn(agent_calls());
  Accuracy accuracy;
  expect_same_calls("fx_sleep_ms", expected["fx_sleep_ms"], got["fx_sleep_ms"], accuracy);
  EXPECT_EQ(agent_->err().find("returns without an entry"), std::string::npos) << agent_->err();
  EXPECT_NE(agent_->err().find("tracing 1 function(s)"), std::string::npos) << agent_->err();
}

TEST_P(FnLatencyTest, TracesASharedLibraryFunction) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(GetParam().path));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "libc.so.6:nanosleep"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  const auto expected = by_tid_in_start_order(by_fn(fixture_calls(timings_path()))["nanosleep"]);
  const auto got_calls = agent_calls();
  for (const Call& call : got_calls) {
    EXPECT_NE(call.fn.find("nanosleep"), std::string::npos) << "unexpected fn " << call.fn;
  }
  const auto got = by_tid_in_start_order(got_calls);
  size_t want_total = 0, got_total = got_calls.size();
  for (const auto& [tid, calls] : expected) {
    want_total += calls.size();
    const size_t seen = got.contains(tid) ? got.at(tid).size() : 0;
    EXPECT_GE(seen, calls.size()) << "nanosleep events on tid " << tid;
  }
  EXPECT_GE(got_total, want_total);
  EXPECT_GT(want_total, 0u);
  std::cout << "[ libc ] fixture made " << want_total << " nanosleep calls, agent reported "
            << got_total << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, FnLatencyTest,
    ::testing::Values(FixtureBinary{"pie", FN_FIXTURE_PIE, 3, "uretprobes"},
                      FixtureBinary{"nopie", FN_FIXTURE_NOPIE, 2, "uretprobes"},
                      FixtureBinary{"pie_exits", FN_FIXTURE_PIE, 3, "exits"},
                      FixtureBinary{"nopie_auto", FN_FIXTURE_NOPIE, 2, "auto"}),
    [](const auto& info) { return std::string(info.param.name); });

// A process in a container's cgroup (one this test makes, named as containerd's systemd driver
// names them, on the cgroup v2 hierarchy) with the kubelet's log link for that container (in a
// directory given by PROFILIS_KUBELET_LOG_DIR): its events name the container and its pod.
class FnLatencyInContainerTest : public TracedRun {
 protected:
  static constexpr const char* kId =
      "8d6c4f1e2b3a59d7c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";

  void TearDown() override {
    fixture_.reset();  // killed and reaped if still running: the cgroup is empty
    cgroup_.reset();
    ::unsetenv("PROFILIS_KUBELET_LOG_DIR");
  }

  std::unique_ptr<ContainerCgroup> cgroup_;
};

TEST_F(FnLatencyInContainerTest, EventsNameTheContainerAndPodOfTheirProcess) {
  PROFILIS_REQUIRE_ROOT();
  cgroup_ = std::make_unique<ContainerCgroup>("cri-containerd-" + std::string(kId) + ".scope");
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  const std::string failure = cgroup_->move_in(fixture_->pid());
  ASSERT_TRUE(failure.empty()) << failure;
  const std::string cgroup_file =
      read_file("/proc/" + std::to_string(fixture_->pid()) + "/cgroup").value_or("");
  ASSERT_NE(cgroup_file.find(kId), std::string::npos) << cgroup_file;

  const std::string kubelet_dir = dir_.path() + "/containers";
  fs::create_directory(kubelet_dir);
  fs::create_symlink("/var/log/pods/shop_checkout-api.v2-7f9c6b5d4-qz8mn_uid/app/0.log",
                     kubelet_dir + "/checkout-api.v2-7f9c6b5d4-qz8mn_shop_app-" + kId + ".log");
  ASSERT_EQ(::setenv("PROFILIS_KUBELET_LOG_DIR", kubelet_dir.c_str(), 1), 0);
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_sleep_ms"}));
  ASSERT_NO_FATAL_FAILURE(run_workload());

  const std::vector<Json> lines = agent_lines(jsonl_dir());
  ASSERT_FALSE(lines.empty());
  for (const Json& j : lines) {
    agent_call(j, fixture_->pid(), comm_);
    std::vector<std::string> keys;
    for (const auto& item : j.items()) keys.push_back(item.key());
    ASSERT_GE(keys.size(), 5u) << j.dump();
    EXPECT_EQ(std::vector<std::string>(keys.end() - 5, keys.end()),
              (std::vector<std::string>{"service", "container_id", "k8s_namespace", "k8s_pod",
                                        "k8s_container"}))
        << j.dump();
    EXPECT_EQ(j.value("container_id", ""), kId);
    EXPECT_EQ(j.value("k8s_namespace", ""), "shop");
    EXPECT_EQ(j.value("k8s_pod", ""), "checkout-api.v2-7f9c6b5d4-qz8mn");
    EXPECT_EQ(j.value("k8s_container", ""), "app");
  }
}

// The agent stops on request (a signal, or --duration) while its target still runs, finalizing
// its output.
class AgentStopTest : public TracedRun {
 protected:
  void expect_stopped_cleanly(std::chrono::milliseconds timeout) {
    const ExitStatus agent = agent_->wait(timeout);
    EXPECT_TRUE(agent.exited() && agent.code == 0) << "agent: " << agent.describe() << "\n"
                                                   << agent_->err();
    EXPECT_EQ(::kill(fixture_->pid(), 0), 0) << "the fixture should still be running";
    for (const auto& entry : fs::directory_iterator(jsonl_dir())) {
      EXPECT_NE(entry.path().extension().string(), ".tmp")
          << "active file not finalized: " << entry.path().string();
    }
  }
};

TEST_F(AgentStopTest, ExitsZeroOnSigterm) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_sleep_ms"}));
  agent_->signal(SIGTERM);
  expect_stopped_cleanly(10s);
}

TEST_F(AgentStopTest, ExitsZeroOnSigint) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_sleep_ms"}));
  agent_->signal(SIGINT);
  expect_stopped_cleanly(10s);
}

// With --db auto the agent also probes every client library installed (~50 probes here), which the
// kernel takes ~0.1 s each to detach, one at a time: the agent leaves that to a child process and
// exits at once.
TEST_F(AgentStopTest, ExitsWithinASecondOfSigtermWhateverTheNumberOfProbes) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_*", "--db", "auto"}));
  const auto signalled = std::chrono::steady_clock::now();
  agent_->signal(SIGTERM);
  expect_stopped_cleanly(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 1s) << agent_->err();
}

TEST_F(AgentStopTest, DurationStopsItByItself) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(start_agent({"--fn", "fx_sleep_ms", "--duration", "1"}));
  expect_stopped_cleanly(15s);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s) << "stopped before --duration 1";
}

}  // namespace
}  // namespace profilis::e2e
