// End to end: the agent traces the profilis markers (include/profilis/usdt.h) of a process without
// being asked, in its executable and in its shared libraries, and reports every REQ, FN and DB
// exactly as the fixture logged it (tests/fixtures/usdt_fixtures/event_log.h): the same events on
// each thread, the same fields (strings cut at the agent's limits, SQL redacted or raw), nested as
// they ran, and with durations inside the fixture's own clocks around the two markers. The
// fixtures, in C and C++ (fn_scope/req_scope, exceptions included) at -O0 and -O2, write their log
// as they run, so nothing expected is written down here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/process.h"
#include "tests/e2e/usdt_run.h"

namespace profilis::e2e {
namespace {

// The kernel stamps each marker between the fixture's clock readings on either side of it; the
// slack covers nothing but rounding between the two readings of CLOCK_MONOTONIC.
constexpr int64_t kClockSlack = 5'000;         // ns
constexpr int64_t kMaxStartError = 2'000'000;  // ns, agent ts_ns (wall clock) vs the fixture's
// The agent's limits on strings read from markers.
constexpr size_t kMaxRoute = 127;
constexpr size_t kMaxMethod = 15;
constexpr size_t kMaxFn = 127;
constexpr size_t kMaxVendor = 15;
constexpr int kMaxReported =
    10;  // mismatches printed per run, so that a wholesale one stays readable
const std::string kEllipsis = "\u2026";

// One REQ, FN or DB line of the fixture's log.
struct Logged {
  Json line;
  std::string kind;
  int64_t tid = 0;
  int64_t seq = 0;
  int64_t parent_seq = -1;
};

// The agent may mark a cut string with an ellipsis, as it does SQL; the text before it must be
// exactly the first `limit` bytes.
std::string without_ellipsis(const std::string& text) {
  if (text.size() >= kEllipsis.size() &&
      text.compare(text.size() - kEllipsis.size(), kEllipsis.size(), kEllipsis) == 0) {
    return text.substr(0, text.size() - kEllipsis.size());
  }
  return text;
}

bool same_text(const std::string& got, const std::string& full, size_t limit) {
  if (full.size() <= limit) return got == full;
  return got == full.substr(0, limit) || got == full.substr(0, limit) + kEllipsis;
}

std::string expected_query(const Json& logged, bool raw_sql) {
  return logged.at(raw_sql ? "query" : "query_redacted").get<std::string>();
}

// What identifies an event in the per-thread counts: its kind and route, fn or query.
std::string identity(const std::string& kind, const std::string& text, size_t limit) {
  return kind + " " + without_ellipsis(text).substr(0, limit);
}

std::string identity_of_logged(const Logged& l, bool raw_sql) {
  if (l.kind == "REQ") return identity("REQ", l.line.at("route"), kMaxRoute);
  if (l.kind == "FN") return identity("FN", l.line.at("fn"), kMaxFn);
  return identity("DB", expected_query(l.line, raw_sql), SIZE_MAX);
}

std::string identity_of_event(const Json& e) {
  const std::string kind = e.value("kind", "");
  if (kind == "REQ") return identity(kind, e.value("route", ""), kMaxRoute);
  if (kind == "FN") return identity(kind, e.value("fn", ""), kMaxFn);
  if (kind == "DB") return identity(kind, e.value("query", ""), SIZE_MAX);
  return "unexpected kind " + e.dump();
}

std::vector<Logged> read_log(const std::string& path) {
  std::vector<Logged> logged;
  for (Json& line : read_json_lines(path)) {
    const std::string kind = line.at("kind");
    if (kind == "throw") continue;  // for the libstdcxx:throw test
    Logged l{line, kind, line.at("tid"), line.at("seq"), line.at("parent_seq")};
    logged.push_back(std::move(l));
  }
  return logged;
}

int64_t start_of(const Json& e) { return e.value("ts_ns", int64_t{0}); }
int64_t end_of(const Json& e) { return start_of(e) + e.value("dur_ns", int64_t{0}); }

// Checks one event against its log line; returns false on a mismatch.
bool check_event(const Json& got, const Logged& want, bool raw_sql) {
  const Json& w = want.line;
  const std::string at = "tid " + std::to_string(want.tid) + " #" + std::to_string(want.seq);
  bool ok = true;
  auto expect = [&](bool condition, const std::string& what) {
    if (!condition)
      ADD_FAILURE() << at << ": " << what << "\n  logged: " << w.dump()
                    << "\n  agent:  " << got.dump();
    ok = ok && condition;
  };
  expect(got.value("kind", "") == want.kind, "kind");
  if (want.kind == "REQ") {
    expect(same_text(got.value("route", ""), w.at("route"), kMaxRoute), "route");
    expect(same_text(got.value("method", ""), w.at("method"), kMaxMethod), "method");
    expect(got.value("status", int64_t{-1}) == w.at("status").get<int64_t>(), "status");
  } else if (want.kind == "FN") {
    expect(same_text(got.value("fn", ""), w.at("fn"), kMaxFn), "fn");
    expect(got.value("error", !w.at("error").get<bool>()) == w.at("error").get<bool>(), "error");
  } else {
    expect(got.value("query", "") == expected_query(w, raw_sql), "query");
    expect(same_text(got.value("db_vendor", ""), w.at("db_vendor"), kMaxVendor), "db_vendor");
    expect(got.value("rows", int64_t{-2}) == w.at("rows").get<int64_t>(), "rows");
    expect(got.value("error", !w.at("error").get<bool>()) == w.at("error").get<bool>(), "error");
  }
  const int64_t dur = got.value("dur_ns", int64_t{-1});
  const int64_t inner = w.at("inner_ns"), outer = w.at("outer_ns");
  expect(dur >= inner - kClockSlack && dur <= outer + kClockSlack,
         "dur_ns " + std::to_string(dur) + " outside the fixture's [" + std::to_string(inner) +
             ", " + std::to_string(outer) + "]");
  // The begin marker fires somewhere between the fixture's clock read and its inner span: as late
  // as the outer span's time outside the event (a preemption there) after the logged start.
  const int64_t start_error = start_of(got) - w.at("start_ns").get<int64_t>();
  expect(start_error >= -kMaxStartError &&
             start_error <= kMaxStartError + std::max<int64_t>(0, outer - dur),
         "ts_ns off the fixture's start by " + std::to_string(start_error) + " ns");
  return ok;
}

// An inner event lies within the one open around it on its thread, by the agent's own clock.
bool check_nesting(const std::vector<Json>& got, const std::vector<Logged>& want, size_t i) {
  if (want[i].parent_seq < 0) return true;
  const Json& outer = got.at(want[i].parent_seq);
  const Json& inner = got[i];
  if (start_of(inner) >= start_of(outer) && end_of(inner) <= end_of(outer)) return true;
  ADD_FAILURE() << "tid " << want[i].tid << ": event #" << i << " is not inside #"
                << want[i].parent_seq << " as it ran\n  inner: " << inner.dump()
                << "\n  outer: " << outer.dump();
  return false;
}

std::map<std::string, int> count_logged(const std::vector<Logged>& logged, bool raw_sql) {
  std::map<std::string, int> counts;
  for (const Logged& l : logged) ++counts[identity_of_logged(l, raw_sql)];
  return counts;
}

std::map<std::string, int> count_events(const std::vector<Json>& events) {
  std::map<std::string, int> counts;
  for (const Json& e : events) ++counts[identity_of_event(e)];
  return counts;
}

// Names only the kinds and names whose counts differ, so that one missing event stands out.
void expect_same_counts(int64_t tid, const std::map<std::string, int>& got,
                        const std::map<std::string, int>& want) {
  std::set<std::string> names;
  for (const auto& [name, n] : got) names.insert(name);
  for (const auto& [name, n] : want) names.insert(name);
  for (const std::string& name : names) {
    const int g = got.contains(name) ? got.at(name) : 0;
    const int w = want.contains(name) ? want.at(name) : 0;
    EXPECT_EQ(g, w) << "tid " << tid << ": events of " << name << ", agent vs the fixture's log";
  }
}

// The fixture's workload covers what the test is about: every kind, failures and successes,
// several statuses, unknown rows, nesting, and strings past the limits.
void expect_workload_covers_the_markers(const std::vector<Logged>& logged) {
  std::set<std::string> seen;
  for (const Logged& l : logged) {
    seen.insert(l.kind);
    if (l.line.contains("status")) seen.insert("status " + l.line.at("status").dump());
    if (l.line.contains("error")) seen.insert(l.kind + " error " + l.line.at("error").dump());
    if (l.line.contains("rows") && l.line.at("rows") == -1) seen.insert("rows -1");
    if (l.parent_seq >= 0) seen.insert("nested");
    if (l.line.value("route", "").size() > kMaxRoute) seen.insert("long route");
    if (l.line.value("fn", "").size() > kMaxFn) seen.insert("long fn");
  }
  for (const char* what : {"REQ", "FN", "DB", "status 200", "status 404", "status 500",
                           "FN error true", "FN error false", "DB error true", "DB error false",
                           "rows -1", "nested", "long route", "long fn"}) {
    EXPECT_TRUE(seen.contains(what)) << "the fixture's log has no " << what;
  }
}

// Compares the agent's events with the fixture's log, thread by thread. Events are emitted at
// their end marker, and the log numbers them in that order; the agent's are put in it by their end
// time.
void expect_events_as_logged(const std::vector<Json>& events, const std::vector<Logged>& logged,
                             pid_t pid, const std::string& comm, bool raw_sql) {
  expect_workload_covers_the_markers(logged);
  std::map<int64_t, std::vector<Logged>> want;
  for (const Logged& l : logged) want[l.tid].push_back(l);
  std::map<int64_t, std::vector<Json>> got;
  for (const Json& e : events) {
    static const std::map<std::string, std::vector<std::string>> kFields = {
        {"REQ", {"route", "method", "status"}},
        {"FN", {"fn", "error"}},
        {"DB", {"query", "db_vendor", "rows", "error"}}};
    const auto fields = kFields.find(e.value("kind", ""));
    if (fields == kFields.end()) {
      ADD_FAILURE() << "unexpected event: " << e.dump();
      continue;
    }
    expect_event_shape(e, fields->second, pid, comm);
    got[e.value("tid", int64_t{0})].push_back(e);
  }
  EXPECT_EQ(events.size(), logged.size()) << "agent events vs events the fixture logged";
  for (const auto& [tid, list] : got) {
    EXPECT_TRUE(want.contains(tid))
        << list.size() << " events on tid " << tid << ", where the fixture logged none";
  }
  int reported = 0;
  size_t matched = 0;
  for (auto& [tid, wanted] : want) {
    std::sort(wanted.begin(), wanted.end(),
              [](const Logged& a, const Logged& b) { return a.seq < b.seq; });
    auto& mine = got[tid];
    std::sort(mine.begin(), mine.end(),
              [](const Json& a, const Json& b) { return end_of(a) < end_of(b); });
    expect_same_counts(tid, count_events(mine), count_logged(wanted, raw_sql));
    if (mine.size() != wanted.size()) continue;  // no order to compare in
    for (size_t i = 0; i < wanted.size() && reported < kMaxReported; ++i) {
      if (!check_event(mine[i], wanted[i], raw_sql)) ++reported;
      if (!check_nesting(mine, wanted, i)) ++reported;
      ++matched;
    }
  }
  std::cout << "[ markers ] " << logged.size() << " events logged by the fixture, " << events.size()
            << " reported by the agent, " << matched << " compared\n";
}

struct Fixture {
  const char* name;
  const char* path;
};

void PrintTo(const Fixture& fixture, std::ostream* os) { *os << fixture.name; }

class MarkerFixtureTest : public ::testing::TestWithParam<Fixture> {
 protected:
  // Runs the fixture under the agent and compares what the agent reported with the log. Returns
  // the agent's stderr.
  std::string trace_and_compare(const std::vector<std::string>& options, Sink sink, bool raw_sql) {
    UsdtRun run;
    const std::string log = run.path("log.jsonl");
    EXPECT_TRUE(run.start_fixture({GetParam().path, log}));
    EXPECT_TRUE(run.start_agent(options, sink));
    const ExitStatus fixture = run.finish();
    EXPECT_TRUE(fixture.exited() && fixture.code == 0) << "fixture: " << fixture.describe() << "\n"
                                                       << run.fixture_err();
    if (fixture.exited() && fixture.code == 0) {
      expect_events_as_logged(run.events(), read_log(log), run.pid(), run.comm(), raw_sql);
    }
    return run.agent_err();
  }
};

TEST_P(MarkerFixtureTest, ReportsEveryEventAsTheFixtureLoggedIt) {
  PROFILIS_REQUIRE_ROOT();
  trace_and_compare({}, Sink::kJsonl, /*raw_sql=*/false);
}

TEST_P(MarkerFixtureTest, RawSqlTextIsTheQueryAsMarked) {
  PROFILIS_REQUIRE_ROOT();
  trace_and_compare({"--sql-text", "raw"}, Sink::kJsonl, /*raw_sql=*/true);
}

TEST_P(MarkerFixtureTest, ConsoleCarriesTheSameEvents) {
  PROFILIS_REQUIRE_ROOT();
  trace_and_compare({}, Sink::kConsole, /*raw_sql=*/false);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MarkerFixtureTest,
                         ::testing::Values(Fixture{"c_O0", USDT_MARKERS_C_O0},
                                           Fixture{"c_O2", USDT_MARKERS_C_O2},
                                           Fixture{"cpp_O0", USDT_MARKERS_CPP_O0},
                                           Fixture{"cpp_O2", USDT_MARKERS_CPP_O2}),
                         [](const auto& info) { return std::string(info.param.name); });

// Without an agent no semaphore is raised and no marker site runs: the fixtures must still run
// their whole workload and log it (no root needed).
TEST(MarkerFixtureAlone, RunsItsWorkloadWithoutAnAgent) {
  for (const char* path :
       {USDT_MARKERS_C_O0, USDT_MARKERS_C_O2, USDT_MARKERS_CPP_O0, USDT_MARKERS_CPP_O2}) {
    UsdtRun run;
    const std::string log = run.path("log.jsonl");
    ASSERT_TRUE(run.start_fixture({path, log}));
    const ExitStatus fixture = run.finish();
    EXPECT_TRUE(fixture.exited() && fixture.code == 0) << path << ": " << fixture.describe();
    expect_workload_covers_the_markers(read_log(log));
  }
}

// Markers written with <sys/sdt.h> put their arguments anywhere (here a callee-saved register and a
// 4-byte value): the agent attaches those by USDT note and still reports every call, with the name
// each one had when it ended (a constant, or a stack buffer rewritten every call) and its error.
TEST(MarkersBySdtNote, ReportsEveryCallWithItsNameAndError) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  ASSERT_TRUE(run.start_fixture({USDT_SDT_MARKERS_FIXTURE}));
  ASSERT_TRUE(run.start_agent({}));
  const ExitStatus fixture = run.finish();
  ASSERT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << run.fixture_err();
  auto events = run.events();
  std::sort(events.begin(), events.end(), [](const Json& a, const Json& b) {
    return a.value("ts_ns", int64_t{0}) < b.value("ts_ns", int64_t{0});
  });
  constexpr int kCalls = 60;  // as in sdt_markers.c
  ASSERT_EQ(events.size(), size_t{kCalls}) << run.agent_err();
  for (int i = 0; i < kCalls; ++i) {
    const Json& e = events[i];
    expect_event_shape(e, {"fn", "error"}, run.pid(), run.comm());
    EXPECT_EQ(e.value("fn", ""), i % 2 ? "sdt_step_" + std::to_string(i) : "sdt_literal") << i;
    EXPECT_EQ(e.value("error", false), i % 3 == 0) << i;
    EXPECT_GE(e.value("dur_ns", int64_t{0}), 20'000) << i;  // the call sleeps 20 µs
  }
}

}  // namespace
}  // namespace profilis::e2e
