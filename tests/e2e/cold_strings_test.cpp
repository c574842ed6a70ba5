// End to end: strings a traced process passes but never touched itself. A string constant whose
// page the process never read is not mapped in it, and a BPF program cannot fault a page in, so the
// kernel cannot read it. The markers' constants travel as addresses and the agent reads them from
// the file (tests/fixtures/usdt_fixtures/cold_literals.c: each constant alone in a 64 KiB window,
// checked unmapped through /proc/PID/pagemap before and after the workload); a client library's SQL
// text is read when the library returns, once it has read it (cold_sqlite.c). A string no one can
// read (a PROT_NONE page, an unmapped address, a cold constant of another file than the marker's)
// is reported empty, named in the event's "unreadable" field, and counted, never passed off as the
// value. The fixtures print nothing of their constants: the expected text is written down here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/e2e/process.h"
#include "tests/e2e/usdt_run.h"

namespace profilis::e2e {
namespace {

// As in cold_literals.c.
constexpr int kIterations = 40;
constexpr int kColdPages = 6;
const std::string kQuery = "SELECT name FROM users WHERE id = 42 AND state = 'active'";
const std::string kQueryRedacted = "SELECT name FROM users WHERE id = ? AND state = ?";
const std::string kEllipsis = "\u2026";

struct ColdFixture {
  const char* name;
  const char* path;
};

void PrintTo(const ColdFixture& fixture, std::ostream* os) { *os << fixture.name; }

// The fields of an event of `kind` between "kind" and "dur_ns".
std::vector<std::string> fields_of(const std::string& kind) {
  if (kind == "REQ") return {"route", "method", "status"};
  if (kind == "FN") return {"fn", "error"};
  return {"query", "db_vendor", "rows", "error"};
}

// The event's "unreadable" names (empty when it has none, as it must then), after checking that
// the field comes last and the others are in docs/design.md §3's order.
std::vector<std::string> unreadable_of(const Json& event, const UsdtRun& run) {
  Json rest = event;
  std::vector<std::string> names;
  if (event.contains("unreadable")) {
    EXPECT_EQ(std::prev(event.end()).key(), "unreadable") << event.dump();
    names = event.at("unreadable").get<std::vector<std::string>>();
    EXPECT_FALSE(names.empty()) << "present only when a field was not read: " << event.dump();
    rest.erase("unreadable");
  }
  expect_event_shape(rest, fields_of(event.value("kind", "")), run.pid(), run.comm());
  return names;
}

// "<name>: cold pages mapped before: N of M" (and after) from the fixture's stderr; -2 if absent.
int pages_mapped(const std::string& fixture_err, const std::string& when) {
  const std::regex line("cold pages mapped " + when + R"(: (-?\d+) of (\d+))");
  std::smatch m;
  if (!std::regex_search(fixture_err, m, line)) return -2;
  return std::stoi(m[1]);
}

class ColdLiteralsTest : public ::testing::TestWithParam<ColdFixture> {
 protected:
  // Runs the fixture in `mode` under the agent with `options`; the events, in `run`. Checks that
  // no constant's page was mapped before the workload, nor after it: nothing the agent did needed
  // them.
  std::vector<Json> trace(UsdtRun& run, const std::string& mode,
                          const std::vector<std::string>& options) {
    EXPECT_TRUE(run.start_fixture({GetParam().path, mode}));
    EXPECT_TRUE(run.start_agent(options));
    const ExitStatus fixture = run.finish();
    EXPECT_TRUE(fixture.exited() && fixture.code == 0) << "fixture: " << fixture.describe() << "\n"
                                                       << run.fixture_err();
    EXPECT_EQ(pages_mapped(run.fixture_err(), "before"), 0) << run.fixture_err();
    EXPECT_EQ(pages_mapped(run.fixture_err(), "after"), 0) << run.fixture_err();
    return run.events();
  }
};

TEST_P(ColdLiteralsTest, ReportsConstantsWhosePagesTheProcessNeverMapped) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  const auto events = trace(run, "readable", {});
  const std::string err = run.agent_err();
  std::map<std::string, int> seen;
  for (const Json& e : events) {
    EXPECT_TRUE(unreadable_of(e, run).empty()) << e.dump();
    const std::string kind = e.value("kind", "");
    if (kind == "REQ") {
      EXPECT_EQ(e.value("route", ""), "/users/{id}") << e.dump();
      EXPECT_EQ(e.value("method", ""), "GET") << e.dump();
      EXPECT_EQ(e.value("status", 0), 200) << e.dump();
    } else if (kind == "FN") {
      EXPECT_EQ(e.value("error", true), false) << e.dump();
    } else {
      EXPECT_EQ(e.value("query", ""), kQueryRedacted) << e.dump();
      EXPECT_EQ(e.value("db_vendor", ""), "postgresql") << e.dump();
      EXPECT_EQ(e.value("rows", 0), 3) << e.dump();
      EXPECT_EQ(e.value("error", true), false) << e.dump();
    }
    ++seen[kind + " " + e.value("fn", "")];
  }
  // One FN name is a constant of the library, which the library has read: the kernel reads it.
  EXPECT_EQ(seen, (std::map<std::string, int>{{"REQ ", kIterations},
                                              {"FN load_user", kIterations},
                                              {"FN lib_warm_function_name", kIterations},
                                              {"DB ", kIterations}}));
  EXPECT_EQ(err.find("could not read"), std::string::npos) << err;
}

// A query read from the file is cut where --sql-max-bytes cuts what the kernel reads (the NUL
// counted), and says so.
TEST_P(ColdLiteralsTest, CutsAConstantQueryAtSqlMaxBytes) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  const auto events = trace(run, "readable", {"--sql-text", "raw", "--sql-max-bytes", "20"});
  int queries = 0;
  for (const Json& e : events) {
    if (e.value("kind", "") != "DB") continue;
    ++queries;
    EXPECT_EQ(e.value("query", ""), kQuery.substr(0, 19) + kEllipsis) << e.dump();
    EXPECT_EQ(e.value("db_vendor", ""), "postgresql") << e.dump();
    EXPECT_TRUE(unreadable_of(e, run).empty()) << e.dump();
  }
  EXPECT_EQ(queries, kIterations);
}

TEST_P(ColdLiteralsTest, MarksAndCountsStringsNoOneCanRead) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  const auto events = trace(run, "unreadable", {});
  using Names = std::vector<std::string>;
  std::map<std::string, int> seen;
  for (const Json& e : events) {
    const std::string kind = e.value("kind", "");
    const Names unreadable = unreadable_of(e, run);
    if (kind == "REQ" && e.value("status", 0) == 503) {  // route on a PROT_NONE page
      EXPECT_EQ(unreadable, Names{"route"}) << e.dump();
      EXPECT_EQ(e.value("route", "?"), "") << e.dump();
      EXPECT_EQ(e.value("method", ""), "GET") << e.dump();
    } else if (kind == "REQ") {  // method at an unmapped address
      EXPECT_EQ(e.value("status", 0), 404) << e.dump();
      EXPECT_EQ(unreadable, Names{"method"}) << e.dump();
      EXPECT_EQ(e.value("route", ""), "/users/{id}") << e.dump();
      EXPECT_EQ(e.value("method", "?"), "") << e.dump();
    } else if (kind == "FN") {  // PROT_NONE (error), or a cold constant of the library
      EXPECT_EQ(unreadable, Names{"fn"}) << e.dump();
      EXPECT_EQ(e.value("fn", "?"), "") << e.dump();
    } else {
      EXPECT_EQ(unreadable, (Names{"query", "db_vendor"})) << e.dump();
      EXPECT_EQ(e.value("query", "?"), "") << e.dump();
      EXPECT_EQ(e.value("db_vendor", "?"), "") << e.dump();
      EXPECT_EQ(e.value("rows", 0), -1) << e.dump();
    }
    ++seen[kind + (e.value("error", false) ? " failed" : "")];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"REQ", 2 * kIterations},
                                              {"FN", kIterations},
                                              {"FN failed", kIterations},
                                              {"DB failed", kIterations}}));
  // The decoder's counts, per field, in the exit summary.
  const std::string n = std::to_string(kIterations), twice = std::to_string(2 * kIterations);
  EXPECT_NE(run.agent_err().find("strings the kernel could not read from the process (reported "
                                 "empty, marked \"unreadable\"): route " +
                                 n + ", method " + n + ", fn " + twice + ", query " + n +
                                 ", db_vendor " + n + "\n"),
            std::string::npos)
      << run.agent_err();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ColdLiteralsTest,
                         ::testing::Values(ColdFixture{"O0", USDT_COLD_LITERALS_O0},
                                           ColdFixture{"O2", USDT_COLD_LITERALS_O2},
                                           ColdFixture{"sdt", USDT_COLD_LITERALS_SDT}),
                         [](const auto& info) { return std::string(info.param.name); });

// SQLite reads the SQL text it is given before its call returns, and the agent reads it then: a
// query that is a constant on a page the process never touched before still has its exact text.
TEST(ColdSqlite, ReportsTheExactTextOfConstantQueriesOnUntouchedPages) {
  PROFILIS_REQUIRE_ROOT();
  constexpr int kSqliteIterations = 20;  // as in cold_sqlite.c
  UsdtRun run;
  ASSERT_TRUE(run.start_fixture({USDT_COLD_SQLITE}));
  ASSERT_TRUE(run.start_agent({"--db", "sqlite", "--sql-text", "raw"}));
  const ExitStatus fixture = run.finish();
  ASSERT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << run.fixture_err();
  EXPECT_EQ(pages_mapped(run.fixture_err(), "before"), 0) << run.fixture_err();
  std::map<std::string, int> queries;
  std::vector<int64_t> select_rows;
  for (const Json& e : run.events()) {
    EXPECT_FALSE(e.contains("unreadable")) << e.dump();
    EXPECT_EQ(e.value("kind", ""), "DB") << e.dump();
    EXPECT_EQ(e.value("db_vendor", ""), "sqlite") << e.dump();
    EXPECT_EQ(e.value("error", true), false) << e.dump();
    const std::string query = e.value("query", "");
    ++queries[query];
    if (query.starts_with("SELECT")) select_rows.push_back(e.value("rows", int64_t{-2}));
  }
  EXPECT_EQ(queries, (std::map<std::string, int>{
                         {"CREATE TABLE cold (id INTEGER, name TEXT)", 1},
                         {"INSERT INTO cold (id, name) VALUES (7, 'frost')", kSqliteIterations},
                         {"SELECT name FROM cold WHERE id = 7", kSqliteIterations}}));
  std::sort(select_rows.begin(), select_rows.end());
  std::vector<int64_t> want(kSqliteIterations);
  for (int i = 0; i < kSqliteIterations; ++i) want[i] = i + 1;
  EXPECT_EQ(select_rows, want);
}

}  // namespace
}  // namespace profilis::e2e
