// Throwaway database servers and the database fixture programs, for the end-to-end tests of DB
// tracing. Each server lives in its own temp dir, answers only locally, and is stopped (then
// killed, if it must be) by its destructor: a test leaves nothing running, and two runs in a row
// never share a port or a directory. initdb and mariadb-install-db run once per test process (one
// to a few seconds, CPU-bound); each server starts from a copy of their result, in a few hundred
// ms.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/e2e/process.h"

namespace profilis::e2e {

// How a client command (psql, pgbench, mariadb, sqlite3) ended, with its output.
struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;

  bool ok() const { return status.exited() && status.code == 0; }
  std::string describe() const;  // the status and stderr, for a failure message
};

// Runs argv (stdin closed) to completion within `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that nothing listened on a moment ago (the kernel's ephemeral pick).
int free_tcp_port();

// A PostgreSQL 15 cluster (initdb's, copied) in a fresh temp dir, run by the `postgres` system user
// (initdb and postgres refuse root). Listens on 127.0.0.1:port() and on a unix socket in
// socket_dir(); trust authentication for both; fsync off, small buffers.
class PostgresServer {
 public:
  // Creates the cluster and starts the server, waiting until it answers. `settings` are extra
  // "name=value" server settings (e.g. "log_statement=all"). Throws std::runtime_error, with the
  // server's log, when it does not start within a few seconds.
  explicit PostgresServer(std::vector<std::string> settings = {});
  ~PostgresServer();  // fast shutdown (bounded), then SIGKILL; the temp dir is removed
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  const std::string& host() const { return host_; }  // "127.0.0.1"
  int port() const { return port_; }
  const std::string& socket_dir() const { return dir_.path(); }
  std::string database() const { return "postgres"; }
  std::string user() const { return "postgres"; }
  // "host=127.0.0.1 port=N dbname=postgres user=postgres", for libpq and psycopg2.
  std::string conninfo() const;
  // The same through the unix socket: "host=<socket_dir> port=N dbname=postgres user=postgres".
  std::string socket_conninfo() const;
  pid_t pid() const;                                 // the postmaster
  std::string log() const;                           // the server's log so far
  double startup_ms() const { return startup_ms_; }  // copy (+ initdb) + start until ready

  // psql -X -q -A -t -v ON_ERROR_STOP=1 -c SQL: unaligned tuples only, one row a line.
  CommandResult psql(const std::string& sql,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // The psql command line without -c: it connects (to `conninfo`, by default conninfo()), then
  // reads SQL from stdin until EOF, so a test can start it, attach the agent, then write the SQL.
  std::vector<std::string> psql_command(const std::string& conninfo = "") const;

  // pgbench with the connection options in front of `args`.
  std::vector<std::string> pgbench_command(const std::vector<std::string>& args) const;
  CommandResult pgbench(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;
  // pgbench -i -q -s SCALE: the pgbench_* tables (100 000 accounts a scale unit).
  CommandResult pgbench_init(int scale = 1) const;

  // Where the PostgreSQL binaries are: $PROFILIS_PG_BINDIR, else Debian's 15.
  static std::string bindir();

 private:
  // Starts the postmaster on port_ and waits until it is ready; false when it exits or times out.
  bool start(const std::vector<std::string>& settings);

  TempDir dir_;  // first: outlives the server it holds
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  double startup_ms_ = 0;
  std::optional<Process> server_;
};

// A MariaDB server (mariadb-install-db's, copied) in a fresh temp dir, run as root, no networking:
// clients connect through socket() as root with no password.
class MariaDbServer {
 public:
  // `options` are extra mariadbd options (e.g. "--general-log": every statement it receives goes
  // to general_log()). Throws std::runtime_error, with the server's error log, when it does not
  // start in time.
  explicit MariaDbServer(std::vector<std::string> options = {});
  ~MariaDbServer();  // SIGTERM (clean shutdown, bounded), then SIGKILL; the temp dir is removed
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  std::string socket() const { return dir_.path() + "/mysql.sock"; }
  pid_t pid() const { return server_->pid(); }
  std::string log() const;          // the error log so far
  std::string general_log() const;  // with --general-log: "<id> Query\t<text>" lines and more
  double startup_ms() const { return startup_ms_; }

  // mariadb --batch --skip-column-names -e SQL: tab-separated rows, one a line.
  CommandResult sql(const std::string& sql,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // The mariadb client command line without -e: it connects, then reads SQL from stdin.
  std::vector<std::string> client_command() const;

 private:
  TempDir dir_;
  double startup_ms_ = 0;
  std::optional<Process> server_;
};

// The Python that has psycopg2 (Debian's); the `python3` first in PATH may not.
inline constexpr const char* kFixturePython = "/usr/bin/python3";

// Command lines of the database fixtures (tests/fixtures/db_fixtures). Each one connects, prints
// "<name>: ready" on stderr, waits for a line "go" on stdin, runs its queries, writes one JSON line
// per query it sent to `output`, and exits 0 (1 when a query did not do what it should).
// Underneath (seen with bpftrace uprobes, Debian 12): libpq's PQexec calls PQsendQuery and then
// PQgetResult until NULL itself, as PQexecParams/PQprepare/PQexecPrepared call their PQsend*
// twins, so a synchronous query also fires the asynchronous probes; psycopg2 sends everything with
// PQexec. libmariadb's mysql_query calls mysql_real_query, and its symbols come in two versions
// (libmysqlclient_18 with a size, libmariadbclient_18 with size 0, same address). SQLite runs
// sqlite3_exec + sqlite3_prepare_v2 on "SELECT*FROM"main".sqlite_master ..." itself, nested in the
// caller's prepare or step, when it (re)reads the schema; Python's sqlite3 module reuses a cached
// prepared statement (sqlite3_reset, no new prepare) when the same SQL runs again.
std::vector<std::string> pq_fixture_command(const std::string& conninfo, const std::string& output);
std::vector<std::string> mysql_fixture_command(const std::string& socket,
                                               const std::string& output);
std::vector<std::string> psycopg2_fixture_command(const std::string& conninfo,
                                                  const std::string& output);
std::vector<std::string> sqlite3_fixture_command(const std::string& db_path,
                                                 const std::string& output);
// The sqlite3 CLI on `db_path`, reading SQL from stdin: write sqlite3_cli_script() to it, then
// close it. The script's queries, in the fixtures' output format, are in sqlite3_cli_expected().
std::vector<std::string> sqlite3_cli_command(const std::string& db_path);
std::string sqlite3_cli_script();    // path of the .sql file
std::string sqlite3_cli_expected();  // path of its .jsonl list of queries

// One query a fixture sent, as it recorded it.
struct FixtureQuery {
  std::string query;   // the exact text sent (after client-side parameter interpolation)
  std::string vendor;  // "postgresql", "mysql" or "sqlite"
  int64_t rows = -1;   // rows the query returned to the client (0 for none), -1 on error
  bool error = false;
  std::string api;  // the client call: "PQexec", "mysql_stmt_execute", "cursor.execute", ...
};

// The queries in a fixture's output file; a malformed line is a test failure (ADD_FAILURE).
std::vector<FixtureQuery> read_fixture_queries(const std::string& path);

// A fixture started and waiting for "go". wait_ready() must be checked before go().
class DbFixture {
 public:
  DbFixture(std::vector<std::string> argv, std::string output);
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  bool go() { return process_.write_stdin("go\n"); }
  ExitStatus wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    return process_.wait(timeout);
  }
  std::vector<FixtureQuery> queries() const { return read_fixture_queries(output_); }
  Process& process() { return process_; }
  pid_t pid() const { return process_.pid(); }

 private:
  Process process_;
  std::string output_;
};

// pgbench's report with -r: the transactions it processed and each script line's average latency.
struct PgbenchStatement {
  std::string command;  // the script line: "SELECT abalance FROM ...;" or "\set aid ..."
  double latency_ms = 0;
  int64_t failures = 0;  // 0 when the report has no failures column (before pgbench 15)
  bool is_sql() const { return !command.empty() && command.front() != '\\'; }
};
struct PgbenchReport {
  int64_t transactions = 0;       // "number of transactions actually processed: N/M" → N
  double latency_average_ms = 0;  // "latency average = X ms", per transaction
  std::vector<PgbenchStatement> statements;              // in script order; meta-commands included
  std::vector<PgbenchStatement> sql_statements() const;  // without the \ meta-commands
};
// Parses pgbench's stdout; nothing when the transaction count or the -r latency block is missing.
std::optional<PgbenchReport> parse_pgbench_report(std::string_view text);

}  // namespace profilis::e2e
