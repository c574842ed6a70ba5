// Tests of the database test helpers themselves, with no agent: the throwaway servers start, answer
// and leave nothing behind; each fixture runs against its server and lists exactly what it sent
// (checked against the server's own statement log where there is one); pgbench's report parses.
#include "tests/e2e/db_servers.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

// Every process whose working directory is under `dir`: the servers chdir into their data dir, and
// their children inherit it, so this finds a server and all of its helpers.
std::vector<pid_t> processes_in(const std::string& dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto cwd = fs::read_symlink(entry.path() / "cwd", ec);
    if (!ec && cwd.string().rfind(dir, 0) == 0) pids.push_back(std::stoi(name));
  }
  return pids;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The postgres log is written by its collector process, a moment after the query: waits (bounded)
// until `needle` appears `n` times, and returns the log.
std::string wait_for_log(const PostgresServer& pg, const std::string& needle, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::string log = pg.log();
  while (count_of(log, needle) < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    log = pg.log();
  }
  return log;
}

// Runs a fixture to the end: ready, go, exit 0. Returns what it listed.
std::vector<FixtureQuery> run_fixture(std::vector<std::string> argv, const std::string& output) {
  DbFixture fixture(std::move(argv), output);
  EXPECT_TRUE(fixture.wait_ready()) << fixture.process().err();
  EXPECT_TRUE(fixture.go());
  const ExitStatus status = fixture.wait();
  EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n"
                                                   << fixture.process().err();
  return fixture.queries();
}

std::multiset<std::string> apis_of(const std::vector<FixtureQuery>& queries) {
  std::multiset<std::string> apis;
  for (const auto& q : queries) apis.insert(q.api);
  return apis;
}

std::vector<std::string> failed_queries(const std::vector<FixtureQuery>& queries) {
  std::vector<std::string> failed;
  for (const auto& q : queries) {
    EXPECT_EQ(q.error, q.rows == -1) << q.query;
    if (q.error) failed.push_back(q.query);
  }
  return failed;
}

void expect_vendor(const std::vector<FixtureQuery>& queries, const std::string& vendor) {
  for (const auto& q : queries) EXPECT_EQ(q.vendor, vendor) << q.query;
}

void report_startup(const char* server, double ms) {
  std::cout << "[   info   ] " << server << " started in " << ms << " ms\n";
}

TEST(DbServers, PostgresStartsAnswersOnTcpAndSocketAndLeavesNothingBehind) {
  PROFILIS_REQUIRE_ROOT();
  std::string dir;
  pid_t pid = 0;
  {
    PostgresServer pg;
    report_startup("postgres", pg.startup_ms());
    EXPECT_LT(pg.startup_ms(), 10'000);
    dir = pg.socket_dir();
    pid = pg.pid();
    EXPECT_FALSE(processes_in(dir).empty());

    const auto tcp = pg.psql("SELECT 40 + 2, inet_client_addr()");
    ASSERT_TRUE(tcp.ok()) << tcp.describe();
    EXPECT_EQ(tcp.out, "42|127.0.0.1\n");
    EXPECT_EQ(pg.conninfo(), "host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                 " dbname=postgres user=postgres");

    // The unix socket (no client address), and psql reading its SQL from stdin (as a traced psql
    // will).
    Process psql(pg.psql_command(pg.socket_conninfo()));
    ASSERT_TRUE(psql.write_stdin("SELECT inet_client_addr() IS NULL;\nSELECT 'it''s';\n"));
    psql.close_stdin();
    const auto status = psql.wait(30s);
    EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << psql.err();
    EXPECT_EQ(psql.out(), "t\nit's\n");
  }
  EXPECT_EQ(::kill(pid, 0), -1) << "the postmaster still runs";
  EXPECT_TRUE(processes_in(dir).empty()) << "a server process was left behind";
  EXPECT_FALSE(fs::exists(dir));
}

TEST(DbServers, TwoPostgresServersGetTheirOwnPortsAndDirs) {
  PROFILIS_REQUIRE_ROOT();
  PostgresServer first;
  PostgresServer second({"work_mem=5MB"});
  EXPECT_NE(first.port(), second.port());
  EXPECT_NE(first.socket_dir(), second.socket_dir());
  EXPECT_EQ(second.psql("SHOW work_mem").out, "5MB\n") << "the extra setting";
  EXPECT_EQ(first.psql("SHOW work_mem").out, "4MB\n") << "the default";
  EXPECT_TRUE(first.psql("CREATE TABLE only_here (x int)").ok());
  EXPECT_FALSE(second.psql("SELECT * FROM only_here").ok());
}

TEST(DbServers, PqFixtureListsWhatTheServerExecuted) {
  PROFILIS_REQUIRE_ROOT();
  PostgresServer pg({"log_statement=all"});
  TempDir out;
  const auto queries = run_fixture(pq_fixture_command(pg.conninfo(), out.path() + "/pq.jsonl"),
                                   out.path() + "/pq.jsonl");
  ASSERT_EQ(queries.size(), 19u);
  expect_vendor(queries, "postgresql");
  const auto apis = apis_of(queries);
  for (const char* api : {"PQexec", "PQexecParams", "PQprepare", "PQexecPrepared", "PQsendQuery",
                          "PQsendQueryParams", "PQsendPrepare", "PQsendQueryPrepared"}) {
    EXPECT_EQ(apis.count(api) > 0, true) << api;
  }
  EXPECT_EQ(apis.count("PQexecPrepared"), 3u);
  EXPECT_EQ(failed_queries(queries),
            (std::vector<std::string>{"SELECT * FROM pq_missing_table", "SELECT 1 / 0"}));
  EXPECT_EQ(queries[7].query, "SELECT id, name FROM pq_items ORDER BY id");
  EXPECT_EQ(queries[7].rows, 5);

  // The server logs each simple query's text as received, and one "execute" per extended-protocol
  // execution (PQexecParams, PQexecPrepared, PQsendQueryParams, PQsendQueryPrepared).
  const auto log = wait_for_log(pg, "LOG:  execute ", 6);
  size_t simple = 0;
  for (const auto& q : queries) {
    if (q.api != "PQexec" && q.api != "PQsendQuery") continue;
    ++simple;
    EXPECT_EQ(count_of(log, "LOG:  statement: " + q.query + "\n"), 1u) << q.query;
  }
  EXPECT_EQ(count_of(log, "LOG:  statement: "), simple) << log;
  EXPECT_EQ(count_of(log, "LOG:  execute "), 6u) << log;
  EXPECT_EQ(pg.psql("SELECT name FROM pq_items WHERE id = 4").out, "delta2\n");
}

TEST(DbServers, Psycopg2FixtureListsExactlyTheTextTheServerReceived) {
  PROFILIS_REQUIRE_ROOT();
  PostgresServer pg({"log_statement=all"});
  TempDir out;
  const std::string output = out.path() + "/psycopg2.jsonl";
  const auto queries = run_fixture(psycopg2_fixture_command(pg.conninfo(), output), output);
  ASSERT_EQ(queries.size(), 9u);
  expect_vendor(queries, "postgresql");
  EXPECT_EQ(failed_queries(queries), (std::vector<std::string>{"SELECT * FROM py_missing_table"}));
  EXPECT_EQ(queries[4].query, "INSERT INTO py_items (id, name) VALUES (3, 'o''brien')");
  EXPECT_EQ(queries[5].rows, 3);

  // Every text, interpolated parameters included, exactly once; and nothing else (no BEGIN, no
  // connection set-up queries).
  const auto log = wait_for_log(pg, "LOG:  statement: ", queries.size());
  for (const auto& q : queries) {
    EXPECT_EQ(count_of(log, "LOG:  statement: " + q.query + "\n"), 1u) << q.query;
  }
  EXPECT_EQ(count_of(log, "LOG:  statement: "), queries.size()) << log;
}

TEST(DbServers, MariaDbStartsAndMysqlFixtureRuns) {
  PROFILIS_REQUIRE_ROOT();
  std::string dir;
  {
    MariaDbServer db({"--general-log"});
    report_startup("mariadbd", db.startup_ms());
    EXPECT_LT(db.startup_ms(), 15'000);
    dir = fs::path(db.socket()).parent_path();
    EXPECT_FALSE(processes_in(dir).empty());
    const auto version = db.sql("SELECT 40 + 2");
    ASSERT_TRUE(version.ok()) << version.describe();
    EXPECT_EQ(version.out, "42\n");

    TempDir out;
    const std::string output = out.path() + "/mysql.jsonl";
    const auto queries = run_fixture(mysql_fixture_command(db.socket(), output), output);
    ASSERT_EQ(queries.size(), 18u);
    expect_vendor(queries, "mysql");
    const auto apis = apis_of(queries);
    for (const char* api : {"mysql_real_query", "mysql_query", "mysql_send_query",
                            "mysql_stmt_prepare", "mysql_stmt_execute"}) {
      EXPECT_EQ(apis.count(api) > 0, true) << api;
    }
    EXPECT_EQ(apis.count("mysql_stmt_execute"), 4u);
    EXPECT_EQ(failed_queries(queries),
              (std::vector<std::string>{"INSERT INTO my_items (id, name) VALUES (?, 'dup')",
                                        "SELECT * FROM my_missing_table"}));
    // The server received each text as listed: queries as "Query", prepares as "Prepare" (the
    // general log writes each execution with its parameters filled in).
    const auto log = db.general_log();
    for (const auto& q : queries) {
      if (q.api == "mysql_stmt_execute") continue;
      const std::string kind = q.api == "mysql_stmt_prepare" ? " Prepare\t" : " Query\t";
      EXPECT_EQ(count_of(log, kind + q.query + "\n"), 1u) << q.query;
    }
    EXPECT_EQ(count_of(log, " Execute\t"), 4u) << log;
    EXPECT_EQ(db.sql("SELECT COUNT(*) FROM profilis_fx.my_items").out, "5\n");

    // The client reading SQL from stdin, as a traced `mariadb` will.
    Process client(db.client_command());
    ASSERT_TRUE(client.write_stdin("SELECT name FROM profilis_fx.my_items WHERE id = 5;\n"));
    client.close_stdin();
    const auto status = client.wait(30s);
    EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << client.err();
    EXPECT_EQ(client.out(), "it's\n");
  }
  EXPECT_TRUE(processes_in(dir).empty()) << "mariadbd was left behind";
  EXPECT_FALSE(fs::exists(dir));
}

TEST(DbServers, Sqlite3FixtureCountsRowsAndFlagsTheFailure) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.path() + "/fixture.db";
  const std::string output = dir.path() + "/sqlite3.jsonl";
  const auto queries = run_fixture(sqlite3_fixture_command(db, output), output);
  ASSERT_EQ(queries.size(), 10u);
  expect_vendor(queries, "sqlite");
  EXPECT_EQ(queries[6].query, "SELECT id, name FROM sq_items ORDER BY id");
  EXPECT_EQ(queries[6].rows, 4);
  EXPECT_EQ(queries[7].rows, 2);
  EXPECT_EQ(queries[2].rows, 0) << "an INSERT returns no rows";
  EXPECT_EQ(failed_queries(queries),
            (std::vector<std::string>{"INSERT INTO sq_items (id, name) VALUES (?, ?)"}));
  const auto count = run_command({"sqlite3", db, "SELECT count(*) FROM sq_items"}, 10s);
  EXPECT_EQ(count.out, "4\n") << count.describe();
}

TEST(DbServers, Sqlite3CliRunsTheScriptItsExpectedListDescribes) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  const auto script = read_file(sqlite3_cli_script());
  ASSERT_TRUE(script) << sqlite3_cli_script();
  Process cli(sqlite3_cli_command(dir.path() + "/cli.db"));
  ASSERT_TRUE(cli.write_stdin(*script));
  cli.close_stdin();
  const auto status = cli.wait(30s);
  // The CLI goes on after the failing statement, and then exits 1.
  EXPECT_TRUE(status.exited() && status.code == 1) << status.describe() << cli.err();
  EXPECT_NE(cli.err().find("UNIQUE constraint failed"), std::string::npos) << cli.err();
  EXPECT_EQ(cli.out(), "1|alpha\n2|beta\n3|it's\nbeta\nit's\n3\n");

  // The expected list: one entry per script line, rows matching what the CLI printed.
  const auto expected = read_fixture_queries(sqlite3_cli_expected());
  std::vector<std::string> lines;
  std::istringstream in(*script);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(expected.size(), lines.size());
  int64_t rows = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(expected[i].query, lines[i]);
    rows += std::max<int64_t>(expected[i].rows, 0);
  }
  EXPECT_EQ(rows, std::count(cli.out().begin(), cli.out().end(), '\n'));
  expect_vendor(expected, "sqlite");
  EXPECT_EQ(failed_queries(expected).size(), 1u);
}

TEST(DbServers, PgbenchRunsAndItsReportParses) {
  PROFILIS_REQUIRE_ROOT();
  PostgresServer pg;
  const auto init = pg.pgbench_init(1);
  ASSERT_TRUE(init.ok()) << init.describe();
  EXPECT_EQ(pg.psql("SELECT count(*) FROM pgbench_accounts").out, "100000\n");

  const auto bench = pg.pgbench({"-n", "-S", "-c", "2", "-t", "50", "-r"});
  ASSERT_TRUE(bench.ok()) << bench.describe();
  const auto report = parse_pgbench_report(bench.out);
  ASSERT_TRUE(report) << bench.out;
  EXPECT_EQ(report->transactions, 100);
  EXPECT_GT(report->latency_average_ms, 0);
  const auto sql = report->sql_statements();
  ASSERT_EQ(sql.size(), 1u) << bench.out;
  EXPECT_EQ(sql[0].command, "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;");
  EXPECT_GT(sql[0].latency_ms, 0);
  EXPECT_LT(sql[0].latency_ms, 1000);
  EXPECT_EQ(sql[0].failures, 0);
  EXPECT_EQ(report->statements.size(), 2u) << "the \\set line too";
  std::cout << "[   info   ] pgbench: " << report->transactions << " transactions, "
            << sql[0].latency_ms << " ms per SELECT\n";
}

// A pure parser test: it needs no root.
TEST(DbServers, ParsePgbenchReportReadsOldAndNewFormats) {
  const std::string v15 =
      "pgbench (15.5 (Debian 15.5-0+deb12u1))\n"
      "transaction type: <builtin: select only>\n"
      "number of transactions per client: 200\n"
      "number of transactions actually processed: 400/400\n"
      "number of failed transactions: 0 (0.000%)\n"
      "latency average = 0.251 ms\n"
      "tps = 7950.1 (without initial connection time)\n"
      "statement latencies in milliseconds and failures:\n"
      "         0.002           0  \\set aid random(1, 100000 * :scale)\n"
      "         0.236           3  SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n";
  const auto report = parse_pgbench_report(v15);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->transactions, 400);
  EXPECT_DOUBLE_EQ(report->latency_average_ms, 0.251);
  ASSERT_EQ(report->statements.size(), 2u);
  EXPECT_EQ(report->statements[0].command, "\\set aid random(1, 100000 * :scale)");
  ASSERT_EQ(report->sql_statements().size(), 1u);
  EXPECT_DOUBLE_EQ(report->sql_statements()[0].latency_ms, 0.236);
  EXPECT_EQ(report->sql_statements()[0].failures, 3);

  const std::string v13 =
      "number of transactions actually processed: 10/10\n"
      "latency average = 1.5 ms\n"
      "statement latencies in milliseconds:\n"
      "         0.5  BEGIN;\n"
      "         1.0  UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"
      "tps = 600\n";
  const auto old = parse_pgbench_report(v13);
  ASSERT_TRUE(old);
  ASSERT_EQ(old->sql_statements().size(), 2u);
  EXPECT_EQ(old->statements[1].command,
            "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;");
  EXPECT_EQ(old->statements[1].failures, 0);

  EXPECT_FALSE(parse_pgbench_report("number of transactions actually processed: 10/10\n"))
      << "no -r block";
  EXPECT_FALSE(parse_pgbench_report("")) << "nothing";
}

}  // namespace
}  // namespace profilis::e2e
