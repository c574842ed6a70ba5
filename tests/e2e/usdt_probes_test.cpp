// End to end: --usdt on third-party probes. The fixture (sdt_probes.c) has <sys/sdt.h> probes
// guarded by semaphores that only the kernel raises, and counts and times what fired; the C++
// marker fixture counts the exceptions it throws, each of which fires libstdc++'s own
// libstdcxx:throw probe.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "tests/e2e/process.h"
#include "tests/e2e/usdt_run.h"

namespace profilis::e2e {
namespace {

constexpr int64_t kClockSlack = 5'000;         // ns, see usdt_markers_test.cpp
constexpr int64_t kMaxStartError = 2'000'000;  // ns

struct SdtLog {
  Json semaphores;                             // their values when the workload started
  std::map<int64_t, Json> threads;             // tid -> iterations, ticks, starts, dones
  std::map<int64_t, std::vector<Json>> pairs;  // tid -> start/done pairs, in start order
};

SdtLog read_sdt_log(const std::string& path) {
  SdtLog log;
  for (Json& line : read_json_lines(path)) {
    const std::string kind = line.at("kind");
    const int64_t tid = line.value("tid", int64_t{0});
    if (kind == "semaphores") log.semaphores = line;
    if (kind == "thread") log.threads[tid] = line;
    if (kind == "pair") log.pairs[tid].push_back(line);
  }
  EXPECT_FALSE(log.semaphores.is_null()) << path;
  EXPECT_FALSE(log.threads.empty()) << path;
  return log;
}

// The agent's FN events by tid, in start order; any event not named `fn` is a failure.
std::map<int64_t, std::vector<Json>> fn_events(const UsdtRun& run, const std::string& fn) {
  std::map<int64_t, std::vector<Json>> by_tid;
  for (const Json& event : run.events()) {
    expect_event_shape(event, {"fn", "error"}, run.pid(), run.comm());
    EXPECT_EQ(event.value("kind", ""), "FN") << event.dump();
    EXPECT_EQ(event.value("fn", ""), fn) << event.dump();
    EXPECT_FALSE(event.value("error", true)) << event.dump();
    by_tid[event.value("tid", int64_t{0})].push_back(event);
  }
  for (auto& [tid, events] : by_tid) {
    std::sort(events.begin(), events.end(), [](const Json& a, const Json& b) {
      return a.value("ts_ns", int64_t{0}) < b.value("ts_ns", int64_t{0});
    });
  }
  return by_tid;
}

// Runs the probe fixture, under the agent with `options` unless they are empty.
SdtLog run_sdt_fixture(UsdtRun& run, const std::vector<std::string>* agent_options) {
  const std::string log = run.path("log.jsonl");
  if (!run.start_fixture({USDT_SDT_FIXTURE, log})) return {};
  if (agent_options != nullptr && !run.start_agent(*agent_options)) return {};
  const ExitStatus fixture = run.finish();
  EXPECT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << run.fixture_err();
  return read_sdt_log(log);
}

// No agent: the semaphores stay 0, so the guarded probe sites never run.
TEST(UsdtProbes, SemaphoresAreZeroUntraced) {
  UsdtRun run;
  const SdtLog log = run_sdt_fixture(run, nullptr);
  EXPECT_EQ(log.semaphores.value("tick", -1), 0) << log.semaphores.dump();
  EXPECT_EQ(log.semaphores.value("work__start", -1), 0) << log.semaphores.dump();
  EXPECT_EQ(log.semaphores.value("work__done", -1), 0) << log.semaphores.dump();
  for (const auto& [tid, thread] : log.threads) {
    EXPECT_GT(thread.value("iterations", 0), 0) << thread.dump();
    EXPECT_EQ(thread.value("ticks", -1), 0) << thread.dump();
    EXPECT_EQ(thread.value("starts", -1), 0) << thread.dump();
    EXPECT_EQ(thread.value("dones", -1), 0) << thread.dump();
  }
}

class PointProbeTest : public ::testing::TestWithParam<bool> {};

// PROVIDER:NAME (or OBJECT:PROVIDER:NAME with the executable's path): one FN event named
// "fixture:tick", of no duration, per hit, on the thread that hit it. The agent raised the
// semaphore, so the probe fired on every iteration.
TEST_P(PointProbeTest, CountsEveryHit) {
  PROFILIS_REQUIRE_ROOT();
  const std::string object = GetParam() ? std::string(USDT_SDT_FIXTURE) + ":" : "";
  const std::vector<std::string> options = {"--usdt", object + "fixture:tick"};
  UsdtRun run;
  const SdtLog log = run_sdt_fixture(run, &options);
  EXPECT_GE(log.semaphores.value("tick", 0), 1) << "the agent did not raise the semaphore";
  const auto got = fn_events(run, "fixture:tick");
  for (const auto& [tid, events] : got) {
    EXPECT_TRUE(log.threads.contains(tid)) << events.size() << " events on an unknown tid " << tid;
  }
  int64_t total = 0;
  for (const auto& [tid, thread] : log.threads) {
    const int64_t ticks = thread.value("ticks", -1);
    EXPECT_EQ(ticks, thread.value("iterations", 0)) << thread.dump();
    const auto found = got.find(tid);
    EXPECT_EQ(found == got.end() ? 0 : int64_t(found->second.size()), ticks) << "tid " << tid;
    if (found == got.end()) continue;
    for (const Json& event : found->second) EXPECT_EQ(event.value("dur_ns", -1), 0) << event.dump();
    total += int64_t(found->second.size());
  }
  std::cout << "[ tick ] " << total << " hits reported\n";
}

INSTANTIATE_TEST_SUITE_P(Spec, PointProbeTest, ::testing::Values(false, true),
                         [](const auto& info) {
                           return std::string(info.param ? "WithObjectPath" : "ProviderAndName");
                         });

// PROVIDER:START,END: one FN event per start/done pair on a thread, lasting from one probe to the
// other, which lies within the fixture's clocks read just outside and just inside the two.
TEST(UsdtProbes, StartDonePairsGiveTheirDurations) {
  PROFILIS_REQUIRE_ROOT();
  const std::vector<std::string> options = {"--usdt", "fixture:work__start,work__done"};
  UsdtRun run;
  const SdtLog log = run_sdt_fixture(run, &options);
  EXPECT_GE(log.semaphores.value("work__start", 0), 1) << "the agent did not raise the semaphore";
  EXPECT_GE(log.semaphores.value("work__done", 0), 1) << "the agent did not raise the semaphore";
  auto got = fn_events(run, "fixture:work__start,work__done");
  int reported = 0;
  for (const auto& [tid, thread] : log.threads) {
    const auto& pairs = log.pairs.contains(tid) ? log.pairs.at(tid) : std::vector<Json>{};
    EXPECT_EQ(int64_t(pairs.size()), thread.value("iterations", 0)) << thread.dump();
    const auto& events = got[tid];
    EXPECT_EQ(events.size(), pairs.size()) << "tid " << tid << ": agent events vs pairs";
    if (events.size() != pairs.size()) continue;
    for (size_t i = 0; i < pairs.size() && reported < 10; ++i) {
      const int64_t dur = events[i].value("dur_ns", int64_t{-1});
      const int64_t inner = pairs[i].at("inner_ns"), outer = pairs[i].at("outer_ns");
      const int64_t start_error =
          events[i].value("ts_ns", int64_t{0}) - pairs[i].at("start_ns").get<int64_t>();
      if (dur >= inner - kClockSlack && dur <= outer + kClockSlack &&
          std::abs(start_error) <= kMaxStartError) {
        continue;
      }
      ++reported;
      ADD_FAILURE() << "tid " << tid << " pair #" << i << ": dur_ns " << dur
                    << " vs the fixture's [" << inner << ", " << outer << "], start off by "
                    << start_error << " ns\n  agent: " << events[i].dump()
                    << "\n  fixture: " << pairs[i].dump();
    }
  }
  for (const auto& [tid, events] : got) {
    EXPECT_TRUE(log.threads.contains(tid)) << events.size() << " events on an unknown tid " << tid;
  }
}

// A library named as the process maps it: libstdc++'s own probe fires once per throw, and the C++
// marker fixture throws exactly the exceptions it logs (its markers are reported too: left out).
TEST(UsdtProbes, LibstdcxxThrowProbeCountsEveryException) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  const std::string log = run.path("log.jsonl");
  ASSERT_TRUE(run.start_fixture({USDT_MARKERS_CPP_O2, log}));
  ASSERT_TRUE(run.start_agent({"--usdt", "libstdc++.so.6:libstdcxx:throw"}));
  const ExitStatus fixture = run.finish();
  ASSERT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << run.fixture_err();

  std::map<int64_t, int64_t> thrown, reported;
  int64_t total = 0;
  for (const Json& line : read_json_lines(log)) {
    if (line.value("kind", "") != "throw") continue;
    thrown[line.at("tid")] += line.at("count").get<int64_t>();
    total += line.at("count").get<int64_t>();
  }
  EXPECT_GT(total, 0) << "the fixture threw nothing";
  for (const Json& event : run.events()) {
    if (event.value("kind", "") != "FN" || event.value("fn", "") != "libstdcxx:throw") continue;
    expect_event_shape(event, {"fn", "error"}, run.pid(), run.comm());
    EXPECT_EQ(event.value("dur_ns", -1), 0) << event.dump();
    EXPECT_FALSE(event.value("error", true)) << event.dump();
    ++reported[event.value("tid", int64_t{0})];
  }
  std::erase_if(thrown, [](const auto& entry) { return entry.second == 0; });
  EXPECT_EQ(reported, thrown) << "libstdcxx:throw events (left) vs throws (right) by tid";
  std::cout << "[ throw ] the fixture threw " << total << " exceptions\n";
}

}  // namespace
}  // namespace profilis::e2e
