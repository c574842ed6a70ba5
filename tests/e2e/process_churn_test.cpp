// End-to-end tests of issue 12's churn goal: with thousands of short-lived processes and threads
// (tests/fixtures/scale/churn.c), every completed call of the traced function is reported once with
// its own duration, no call is reported that did not complete, and the per-thread and per-process
// state the BPF programs keep (`open_calls`, `db_threads`, `target_pids`) is released when threads
// and processes exit, so that the maps stay small however many came and went.
//
// Two churns: threads of one process traced by --pid, and fork/exec'd processes traced by
// --binary. Each also leaves calls unfinished — a thread cancelled, or its process exiting, while
// it sleeps inside the traced function — whose entries must neither pair with a later call of a
// thread that gets the same tid (pid_max is often 32768: tids wrap within one run) nor stay in the
// maps.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/e2e/bpf_objects.h"
#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A reported duration must lie in [sleep, own + kLateSlack], sleep being what the fixture asked
// clock_nanosleep for inside the traced function and own what it measured around the call. Both
// bounds hold whatever the load: the uprobe and the uretprobe fire between the fixture's two
// CLOCK_MONOTONIC reads (bpf_ktime_get_ns is that clock), and the sleep lies between the probes.
// kLateSlack is a margin for nothing but that argument being wrong by a little. A duration paired
// with another call's entry (of the thread, or of a dead thread of the same tid) is longer than
// own by that call's time or more; paired with a later, nested entry it is shorter than the sleep.
// (A bound like own - 50 us below would fail under load: a fixture preempted between its clock
// read and the call measures 1 ms more than the kernel does, seen on 2 shared cores.)
constexpr long long kLateSlack = 50'000;
// Entries left in a map after the churn: the churn's one live thread (its main thread, waiting on
// stdin, in no call), and a few for whatever else the agent traces meanwhile (--binary and --db
// auto see other processes of the machine). Thousands of threads went by; leaks show as hundreds.
constexpr std::size_t kMaxEntriesAfterChurn = 16;

using ThreadKey = std::pair<long long, long long>;  // pid, tid

struct Call {
  long long start_ns = 0;  // wall clock, for the order of one thread's calls
  long long dur_ns = 0;
  long long sleep_ns = 0;  // the fixture's own log: the sleep asked for
};

using Calls = std::map<ThreadKey, std::vector<Call>>;

Calls by_thread(const std::vector<Json>& lines, const char* start, const char* dur) {
  Calls calls;
  for (const Json& line : lines) {
    calls[{line.at("pid").get<long long>(), line.at("tid").get<long long>()}].push_back(
        {line.at(start).get<long long>(), line.at(dur).get<long long>(),
         line.value("sleep_ns", 0LL)});
  }
  for (auto& [key, list] : calls) {
    std::sort(list.begin(), list.end(),
              [](const Call& a, const Call& b) { return a.start_ns < b.start_ns; });
  }
  return calls;
}

std::size_t total(const Calls& calls) {
  std::size_t n = 0;
  for (const auto& [key, list] : calls) n += list.size();
  return n;
}

std::string jsonl_text(const std::string& dir) {
  std::string all;
  for (const auto& entry : fs::directory_iterator(dir)) all += read_file(entry.path()).value_or("");
  return all;
}

struct MapSizes {
  std::map<std::string, std::vector<MapEntries>> entries;  // by map name, one per map loaded
};

MapSizes map_sizes(pid_t agent) {
  MapSizes sizes;
  for (const char* name : {"open_calls", "db_threads", "target_pids"}) {
    sizes.entries[name] = bpf_map_entries(agent, name);
  }
  return sizes;
}

void record(const std::string& key, long long value) {
  ::testing::Test::RecordProperty(key, std::to_string(value));
  std::cout << "[ measured ] " << key << " = " << value << std::endl;
}

class Churn : public ::testing::Test {
 protected:
  // Runs `churn ARGS... LOG` traced by the agent with `options`, to the end of the churn; reads
  // the maps while the churn's main process is still alive and idle, then stops both.
  void run(std::vector<std::string> churn_args, const std::vector<std::string>& agent_options) {
    churn_args.insert(churn_args.begin(), CHURN_FIXTURE);
    churn_args.push_back(log_path());
    Process churn(churn_args);
    ASSERT_TRUE(churn.wait_for_stderr("churn: ready", 10s)) << churn.err();
    agent_options_ = agent_options;
    for (std::string& option : agent_options_) {
      if (option == "PID") option = std::to_string(churn.pid());
    }
    std::vector<std::string> argv{PROFILIS_AGENT_BIN};
    argv.insert(argv.end(), agent_options_.begin(), agent_options_.end());
    fs::create_directory(events_dir());
    argv.insert(argv.end(), {"--jsonl-dir", events_dir()});
    Process agent(argv);
    ASSERT_TRUE(agent.wait_for_stderr("profilis-agent: tracing", 60s)) << agent.err();
    before_ = map_sizes(agent.pid());

    const auto start = Clock::now();
    ASSERT_TRUE(churn.write_stdin("go\n"));
    ASSERT_TRUE(churn.wait_for_stderr("churn: done", 60s)) << churn.err();
    record("churn_ms",
           std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    std::smatch m;
    ASSERT_TRUE(std::regex_search(churn.err(), m,
                                  std::regex(R"(calls=(\d+) processes=(\d+) threads=(\d+))")));
    expected_calls_ = std::stoull(m[1]);
    record("churn_processes", std::stoll(m[2]));
    record("churn_threads", std::stoll(m[3]));
    // Exit handling in the kernel and the agent (a process's exit seen by the agent) is not
    // instantaneous; the churn has been over for this long when the maps are read.
    std::this_thread::sleep_for(1s);
    after_ = map_sizes(agent.pid());
    describe_target_pids();

    agent.signal(SIGTERM);
    const ExitStatus agent_status = agent.wait(60s);
    EXPECT_TRUE(agent_status.exited() && agent_status.code == 0) << agent_status.describe() << "\n"
                                                                 << agent.err();
    agent_err_ = agent.err();
    churn.close_stdin();
    EXPECT_EQ(churn.wait(10s).code, 0) << churn.err();
  }

  // What the entries of target_pids name right now: "pid=comm", or "pid=exited".
  void describe_target_pids() {
    for (const MapEntries& map : after_.entries.at("target_pids")) {
      for (const std::uint32_t pid : map.u32_keys) {
        const auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
        const std::string what = comm ? comm->substr(0, comm->find('\n')) : "exited";
        target_pids_ += " " + std::to_string(pid) + "=" + what;
        if (!comm) exited_pids_ += " " + std::to_string(pid);
      }
    }
    std::cout << "[ measured ] target_pids after the churn:" << target_pids_ << std::endl;
  }

  // Every completed call of the churn reported once, with its own duration; nothing else.
  void expect_every_call_with_its_duration() {
    const Calls own = by_thread(read_json_lines(log_path()), "start_ns", "own_ns");
    // Only the FN events: with --db auto the agent may also see other programs' queries.
    std::vector<Json> events;
    for (Json& event : parse_json_lines(jsonl_text(events_dir()), "the agent's JSONL")) {
      if (event.at("kind") != "FN") continue;
      EXPECT_EQ(event.at("fn"), "churn_work") << event.dump();
      events.push_back(std::move(event));
    }
    const Calls reported = by_thread(events, "ts_ns", "dur_ns");
    EXPECT_EQ(total(own), expected_calls_) << "the fixture's log is incomplete";
    EXPECT_EQ(total(reported), expected_calls_) << agent_err_;
    record("calls_expected", static_cast<long long>(expected_calls_));
    record("calls_reported", static_cast<long long>(total(reported)));

    std::size_t wrong_count = 0, wrong_duration = 0, unknown_thread = 0;
    long long worst_early = 0, worst_late = 0;
    for (const auto& [key, calls] : reported) {
      const auto it = own.find(key);
      if (it == own.end()) {
        if (++unknown_thread <= 5)
          ADD_FAILURE() << "events of pid " << key.first << " tid " << key.second
                        << ", a thread with no completed call";
        continue;
      }
      if (it->second.size() != calls.size()) {
        if (++wrong_count <= 5)
          ADD_FAILURE() << "pid " << key.first << " tid " << key.second << ": " << calls.size()
                        << " calls reported, " << it->second.size() << " made";
        continue;
      }
      for (std::size_t i = 0; i < calls.size(); ++i) {
        const Call& made = it->second[i];
        const long long reported = calls[i].dur_ns;
        worst_late = std::max(worst_late, reported - made.dur_ns);
        worst_early = std::max(worst_early, made.dur_ns - reported);
        if ((reported > made.dur_ns + kLateSlack || reported < made.sleep_ns) &&
            ++wrong_duration <= 5)
          ADD_FAILURE() << "pid " << key.first << " tid " << key.second << " call " << i
                        << ": reported " << reported << " ns, own " << made.dur_ns << " ns, sleep "
                        << made.sleep_ns << " ns";
      }
    }
    for (const auto& [key, calls] : own) {
      if (!reported.count(key) && ++wrong_count <= 5)
        ADD_FAILURE() << "pid " << key.first << " tid " << key.second << ": " << calls.size()
                      << " calls made, none reported";
    }
    record("worst_reported_shorter_ns", worst_early);
    record("worst_reported_longer_ns", worst_late);
    EXPECT_EQ(unknown_thread, 0u);
    EXPECT_EQ(wrong_count, 0u) << "threads with a wrong number of calls reported";
    EXPECT_EQ(wrong_duration, 0u) << "durations outside [sleep, own + " << kLateSlack << " ns]";
  }

  // The maps hold a handful of entries after the churn, not one per thread or process that went.
  // A task storage map (per-thread state since issue 12) cannot be listed from user space; the
  // kernel frees an entry with its task, so it is bounded by the live threads by construction, and
  // the test only says which maps are of that kind.
  void expect_state_released() {
    ASSERT_FALSE(after_.entries.at("open_calls").empty())
        << "the agent holds no map named open_calls";
    ASSERT_FALSE(after_.entries.at("target_pids").empty())
        << "the agent holds no map named target_pids";
    for (const auto& [name, maps] : after_.entries) {
      const auto& before = before_.entries.at(name);
      for (std::size_t i = 0; i < maps.size(); ++i) {
        if (maps[i].type == BPF_MAP_TYPE_TASK_STORAGE) {
          std::cout << "[ measured ] " << name << ": task storage, freed with its task\n";
          continue;
        }
        ASSERT_TRUE(maps[i].entries)
            << name << " (map type " << maps[i].type << "): its keys cannot be listed";
        const auto before_entries = i < before.size() ? before[i].entries : std::nullopt;
        record(name + "_entries_before", static_cast<long long>(before_entries.value_or(0)));
        record(name + "_entries_after", static_cast<long long>(*maps[i].entries));
        EXPECT_LE(*maps[i].entries, kMaxEntriesAfterChurn) << name << " after the churn";
      }
    }
    // Entries of the pid filter may name live processes (the churn's main process, verdicts on
    // others), never one that has exited: such an entry is a leak, however few — a handful in a
    // thousand grows without bound on a busy node. Read with the maps (pid_max is often 32768:
    // a leaked pid may already name an unrelated process, which hides that leak, never invents
    // one).
    EXPECT_EQ(exited_pids_, "") << "target_pids entries of processes that have exited; all:"
                                << target_pids_;
  }

  std::string log_path() const { return dir_.path() + "/churn-own.jsonl"; }
  std::string events_dir() const { return dir_.path() + "/events"; }

  TempDir dir_;
  std::vector<std::string> agent_options_;
  std::size_t expected_calls_ = 0;
  MapSizes before_, after_;
  std::string agent_err_;
  std::string target_pids_, exited_pids_;
};

// One process, 60 rounds of 50 threads making 3 calls each (9 000 calls), and a thread cancelled
// inside the traced function every round: about 3 000 threads in a few seconds.
class ThreadChurnUnderPid : public Churn {
 protected:
  void SetUp() override {
    PROFILIS_REQUIRE_ROOT();
    run({"threads", "60", "50", "3"}, {"--pid", "PID", "--fn", "churn_work", "--db", "none"});
  }
};

TEST_F(ThreadChurnUnderPid, ReportsEveryCallWithItsOwnDuration) {
  if (IsSkipped() || HasFatalFailure()) return;
  expect_every_call_with_its_duration();
}

TEST_F(ThreadChurnUnderPid, ReleasesPerThreadStateInTheKernel) {
  if (IsSkipped() || HasFatalFailure()) return;
  expect_state_released();
}

// 40 rounds of 25 fork/exec'd children with 3 threads besides their main one, 3 calls per thread,
// every second child exiting while one more thread is inside the traced function, and 3 threads
// of the parent per round: 1 000 processes, about 4 600 threads, 12 360 calls. --binary, so that
// every exec'd child is traced from its start; --db auto (the default), so that db_threads exists.
class ProcessChurnUnderBinary : public Churn {
 protected:
  void SetUp() override {
    PROFILIS_REQUIRE_ROOT();
    run({"processes", "40", "25", "3", "3"}, {"--binary", CHURN_FIXTURE, "--fn", "churn_work"});
  }
};

TEST_F(ProcessChurnUnderBinary, ReportsEveryCallWithItsOwnDuration) {
  if (IsSkipped() || HasFatalFailure()) return;
  expect_every_call_with_its_duration();
}

TEST_F(ProcessChurnUnderBinary, ReleasesPerProcessStateInTheKernel) {
  if (IsSkipped() || HasFatalFailure()) return;
  expect_state_released();
}

}  // namespace
}  // namespace profilis::e2e
