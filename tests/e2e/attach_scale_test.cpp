// End-to-end tests of issue 12's goals for attach and stop: 1 000 probes attached and detached in
// under 1 s together, and the agent gone within 1 s of SIGTERM in every mode.
//
// Times are measured from the outside: attach from the agent's start to its "tracing" line (so the
// plan, the ELF reading and the BPF load are included), exit from SIGTERM to the agent's exit, and
// detach from SIGTERM until the kernel has freed every BPF program the agent had loaded — a program
// outlives its last link, so this is when every probe is really gone, whoever (the agent or its
// profilis-detach child) closed the links. The figures are printed and recorded as test properties
// so that they show in CI logs.
//
// With classic perf-event links (PROFILIS_NO_UPROBE_MULTI=1) the 1 000-probe goal fails by far:
// about 16 s to attach and minutes for the detach child to let go, on 2 shared cores.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/bpf_objects.h"
#include "tests/e2e/db_servers.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The goals of issue 12. The sanitizer build of the agent runs many times slower: there the limits
// are scaled, so the tests still check that nothing waits for the kernel one probe at a time.
#ifdef PROFILIS_SANITIZED_AGENT
constexpr int kSlowdown = 10;
#else
constexpr int kSlowdown = 1;
#endif
constexpr milliseconds kAttachPlusDetachLimit{1000 * kSlowdown};
constexpr milliseconds kExitLimit{1000 * kSlowdown};
// How long the detach is waited for before it is reported as "more than this".
constexpr milliseconds kDetachWaitLimit{5000};

std::string jsonl_text(const std::string& dir) {
  std::string all;
  for (const auto& entry : fs::directory_iterator(dir)) all += read_file(entry.path()).value_or("");
  return all;
}

void record(const std::string& key, long long value) {
  ::testing::Test::RecordProperty(key, std::to_string(value));
  std::cout << "[ measured ] " << key << " = " << value << std::endl;
}

// A fixture that waits for its "ready" line; stopped at the end of its stdin.
std::unique_ptr<Process> start_ready(std::vector<std::string> argv, const std::string& ready) {
  auto process = std::make_unique<Process>(std::move(argv));
  EXPECT_TRUE(process->wait_for_stderr(ready, 30s)) << process->err();
  return process;
}

// The agent, timed from its start to its "tracing" line.
struct RunningAgent {
  std::unique_ptr<Process> process;
  milliseconds attach{0};
  std::vector<std::uint32_t> prog_ids;  // the BPF programs it loaded, read while it traces
};

RunningAgent start_agent(const std::vector<std::string>& options) {
  std::vector<std::string> argv{PROFILIS_AGENT_BIN};
  argv.insert(argv.end(), options.begin(), options.end());
  RunningAgent agent;
  const auto start = Clock::now();
  agent.process = std::make_unique<Process>(argv);
  const bool tracing = agent.process->wait_for_stderr("profilis-agent: tracing", 120s);
  agent.attach = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_TRUE(tracing) << agent.process->err();
  if (tracing) agent.prog_ids = bpf_prog_ids_of(agent.process->pid());
  return agent;
}

struct Stopped {
  milliseconds exit{0};    // SIGTERM → the agent's exit
  milliseconds detach{0};  // SIGTERM → every program freed (kDetachWaitLimit + 1 when not by then)
};

// Stops the agent with SIGTERM, expects exit code 0, and times its exit and the end of its probes.
Stopped stop_agent(RunningAgent& agent) {
  Stopped stopped;
  const auto start = Clock::now();
  agent.process->signal(SIGTERM);
  const ExitStatus status = agent.process->wait(60s);
  stopped.exit = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n"
                                                   << agent.process->err();
  const auto any_left = [&] {
    for (const std::uint32_t id : agent.prog_ids) {
      if (bpf_prog_exists(id)) return true;
    }
    return false;
  };
  while (any_left() && Clock::now() - start <= kDetachWaitLimit) {
    std::this_thread::sleep_for(5ms);
  }
  stopped.detach = any_left() ? kDetachWaitLimit + 1ms
                              : std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return stopped;
}

// 1 000 functions matched by one glob, attached, called twice each, stopped: exact counts, and
// attach + detach under 1 s. --db none, so that the probes are the 1 000 and nothing else.
TEST(AttachScale, ThousandFunctionsByOneGlobAttachAndDetachUnderOneSecond) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  auto fixture = start_ready({SCALE_FIXTURE}, "scale_fixture: ready");
  RunningAgent agent = start_agent({"--pid", std::to_string(fixture->pid()), "--fn", "scale_fn_*",
                                    "--db", "none", "--jsonl-dir", dir.path()});
  ASSERT_FALSE(agent.prog_ids.empty()) << "no BPF program held by the agent";
  constexpr int kRounds = 2;
  for (int round = 1; round <= kRounds; ++round) {
    ASSERT_TRUE(fixture->write_stdin("go\n"));
    ASSERT_TRUE(fixture->wait_for_stderr("round " + std::to_string(round) + " called", 30s))
        << fixture->err();
  }
  const Stopped stopped = stop_agent(agent);
  fixture->close_stdin();
  EXPECT_EQ(fixture->wait(10s).code, 0);

  record("attach_ms", agent.attach.count());
  record("exit_ms", stopped.exit.count());
  record("detach_ms", stopped.detach.count());
  record("attach_plus_detach_ms", (agent.attach + stopped.detach).count());
  EXPECT_LT(stopped.exit, kExitLimit);
  EXPECT_LT(agent.attach + stopped.detach, kAttachPlusDetachLimit)
      << "attach " << agent.attach.count() << " ms + detach " << stopped.detach.count()
      << " ms (detach > " << kDetachWaitLimit.count() << " ms means not done by then)";

  // Every function reported exactly once per round, and nothing else.
  std::map<std::string, int> calls;
  for (const Json& event : parse_json_lines(jsonl_text(dir.path()), "the agent's JSONL")) {
    ASSERT_EQ(event.at("kind"), "FN") << event.dump();
    EXPECT_EQ(event.at("pid"), fixture->pid());
    ++calls[event.at("fn").get<std::string>()];
  }
  EXPECT_EQ(calls.size(), static_cast<std::size_t>(SCALE_FN_COUNT));
  int wrong = 0;
  for (int i = 0; i < SCALE_FN_COUNT; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "scale_fn_%04d", i);
    const auto it = calls.find(name);
    const int got = it == calls.end() ? 0 : it->second;
    if (got != kRounds && ++wrong <= 10) ADD_FAILURE() << name << " reported " << got << " times";
  }
  EXPECT_EQ(wrong, 0) << "functions not reported exactly " << kRounds << " times";
}

// Traces with `options` (the target started by the test) for a moment, then checks that SIGTERM
// ends the agent within 1 s with exit code 0. `during` runs while it traces.
void expect_quick_exit(const std::string& mode, const std::vector<std::string>& options,
                       const std::function<void()>& during = {}) {
  RunningAgent agent = start_agent(options);
  ASSERT_TRUE(agent.process->err().find("profilis-agent: tracing") != std::string::npos);
  if (during) during();
  std::this_thread::sleep_for(300ms);
  const Stopped stopped = stop_agent(agent);
  record(mode + "_attach_ms", agent.attach.count());
  record(mode + "_exit_ms", stopped.exit.count());
  record(mode + "_detach_ms", stopped.detach.count());
  EXPECT_LT(stopped.exit, kExitLimit) << mode;
}

// --pid with --fn, and the default --db auto (the client libraries installed on the machine too).
TEST(SigtermExit, PidWithFnWithinOneSecond) {
  PROFILIS_REQUIRE_ROOT();
  auto fixture = start_ready({SCALE_FIXTURE}, "scale_fixture: ready");
  expect_quick_exit("pid_fn", {"--pid", std::to_string(fixture->pid()), "--fn", "scale_fn_*"},
                    [&] { fixture->write_stdin("go\n"); });
}

// --pid of a Python program using sqlite3, --db auto: the DB client probes.
TEST(SigtermExit, PidWithDbAutoWithinOneSecond) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  auto fixture = start_ready(
      {kFixturePython, "-I", SQLITE3_FIXTURE, dir.path() + "/db.sqlite", dir.path() + "/out.jsonl"},
      "sqlite3_fixture: ready");
  expect_quick_exit("pid_db", {"--pid", std::to_string(fixture->pid()), "--db", "auto"});
}

// --pid of a C program with the profilis markers.
TEST(SigtermExit, PidWithMarkersWithinOneSecond) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  auto fixture = start_ready({USDT_MARKERS_C_O2, dir.path() + "/log.jsonl"}, ": ready");
  expect_quick_exit("pid_markers", {"--pid", std::to_string(fixture->pid()), "--db", "none"});
}

// --binary (issue 12): every process running the file, 1 000 functions.
TEST(SigtermExit, BinaryWithFnWithinOneSecond) {
  PROFILIS_REQUIRE_ROOT();
  auto fixture = start_ready({SCALE_FIXTURE}, "scale_fixture: ready");
  expect_quick_exit("binary_fn", {"--binary", SCALE_FIXTURE, "--fn", "scale_fn_*"},
                    [&] { fixture->write_stdin("go\n"); });
}

// --node (issue 12): every process of the machine, DB clients and markers.
TEST(SigtermExit, NodeWithinOneSecond) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  auto markers = start_ready({USDT_MARKERS_C_O2, dir.path() + "/log.jsonl"}, ": ready");
  expect_quick_exit("node", {"--node"}, [&] { markers->write_stdin("go\n"); });
}

}  // namespace
}  // namespace profilis::e2e
