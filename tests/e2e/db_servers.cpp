#include "tests/e2e/db_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace profilis::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kPostgresStartTimeout = 15s;
constexpr auto kMariaDbStartTimeout = 20s;
constexpr auto kSetupTimeout = 60s;  // initdb, mariadb-install-db
constexpr auto kStopTimeout = 15s;
constexpr auto kPollInterval = 20ms;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Whether the child has exited, without reaping it: Process must still collect its status.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
  return info.si_pid == pid;
}

// Runs a server binary as the `postgres` system user (PostgreSQL refuses root) from inside `dir`
// (the test's working directory need not be open to that user). --pdeathsig kills the server should
// the test process die before its destructor runs; it survives the user switch and the execs.
std::vector<std::string> as_postgres(const std::string& dir, std::vector<std::string> argv,
                                     bool die_with_parent) {
  std::vector<std::string> full = {"setpriv"};
  if (die_with_parent) full.push_back("--pdeathsig=KILL");
  for (const char* arg : {"--reuid=postgres", "--regid=postgres", "--init-groups", "--", "env"})
    full.emplace_back(arg);
  full.push_back("--chdir=" + dir);
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

void give_to_postgres(const std::string& path) {
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr)
    throw std::runtime_error("no `postgres` system user: is the postgresql package installed?");
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0)
    throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
}

// Stops a server with `sig` (its clean, fast shutdown), SIGKILL when that takes too long.
void stop(std::optional<Process>& server, int sig) {
  if (!server) return;
  server->signal(sig);
  server->wait(kStopTimeout);
}

// The status field (line 8) of postmaster.pid, which the postmaster sets to "ready" once it
// accepts connections: what `pg_ctl start -w` waits for.
bool postmaster_ready(const std::string& data_dir) {
  const auto text = read_file(data_dir + "/postmaster.pid");
  if (!text) return false;
  std::istringstream lines(*text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (number == 8) return line.rfind("ready", 0) == 0;
  }
  return false;
}

// Copies a template data directory (see DataTemplate); `cp -a` keeps owners and modes
// (postgres's files stay its own, and its data dir 0700, as the server insists).
void copy_data_dir(const std::string& from, const std::string& to) {
  const auto copy = run_command({"cp", "-a", from, to}, kSetupTimeout);
  if (!copy.ok()) throw std::runtime_error("cp -a " + from + ": " + copy.describe());
}

// initdb and mariadb-install-db take one to several seconds (they are CPU-bound, so more on a
// loaded machine); a copy of their result takes tens of ms. So each runs once per test process,
// into a directory removed at exit, and every server starts from a copy.
class DataTemplate {
 public:
  // `make(dir, data)` creates the data directory `data` inside `dir`; throws on failure (and the
  // next server tries again, from scratch).
  template <typename Make>
  const std::string& get(Make make) {
    if (!made_) {
      std::filesystem::remove_all(data_);
      make(dir_.path(), data_);
      made_ = true;
    }
    return data_;
  }

 private:
  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
  bool made_ = false;
};

const std::string& postgres_template() {
  static DataTemplate data;
  return data.get([](const std::string& dir, const std::string& data) {
    give_to_postgres(dir);
    const auto initdb = run_command(
        as_postgres(dir,
                    {PostgresServer::bindir() + "/initdb", "-D", data, "-A", "trust", "-U",
                     "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                    false),
        kSetupTimeout);
    if (!initdb.ok()) throw std::runtime_error("initdb failed: " + initdb.describe());
  });
}

const std::string& mariadb_template() {
  static DataTemplate data;
  return data.get([](const std::string&, const std::string& data) {
    const auto install = run_command(
        {"mariadb-install-db", "--no-defaults", "--auth-root-authentication-method=normal",
         "--datadir=" + data, "--user=root", "--skip-test-db", "--skip-name-resolve",
         // Small InnoDB files: 20 MB to copy instead of 110 MB (the server gets the same sizes).
         "--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"},
        kSetupTimeout);
    if (!install.ok()) throw std::runtime_error("mariadb-install-db failed: " + install.describe());
  });
}

}  // namespace

std::string CommandResult::describe() const {
  return status.describe() + "\nstderr: " + err + "\nstdout: " + out;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult result;
  result.status = run(argv, timeout, &result.out, &result.err);
  return result;
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error(std::string("no free port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

// ---- PostgreSQL ----

std::string PostgresServer::bindir() {
  const char* dir = std::getenv("PROFILIS_PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin";
}

PostgresServer::PostgresServer(std::vector<std::string> settings) {
  const auto began = Clock::now();
  give_to_postgres(dir_.path());
  copy_data_dir(postgres_template(), dir_.path() + "/data");
  // The kernel's free port can be taken again before the postmaster binds it: retry on that only.
  for (int attempt = 1;; ++attempt) {
    port_ = free_tcp_port();
    if (start(settings)) break;
    if (attempt == 3 || log().find("could not bind") == std::string::npos)
      throw std::runtime_error("postgres did not start:\n" + log());
  }
  startup_ms_ = ms_since(began);
}

bool PostgresServer::start(const std::vector<std::string>& settings) {
  std::vector<std::string> argv = {
      bindir() + "/postgres", "-D", dir_.path() + "/data", "-h", host_, "-p", std::to_string(port_),
      "-k", dir_.path(),
      // Throwaway data: no durability, little memory, few connections.
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
      "shared_buffers=16MB", "-c", "max_connections=20",
      // The log goes to a file: a pipe nobody reads while a test runs would fill and stall it.
      "-c", "logging_collector=on", "-c", "log_directory=" + dir_.path(), "-c",
      "log_filename=postgres.log"};
  for (const std::string& setting : settings) {
    argv.push_back("-c");
    argv.push_back(setting);
  }
  server_.emplace(as_postgres(dir_.path(), argv, true));
  const auto deadline = Clock::now() + kPostgresStartTimeout;
  while (!postmaster_ready(dir_.path() + "/data")) {
    if (has_exited(server_->pid()) || Clock::now() >= deadline) {
      stop(server_, SIGINT);  // kept (stopped) until the next attempt: log() shows its stderr
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

PostgresServer::~PostgresServer() {
  stop(server_, SIGINT);  // SIGINT: fast shutdown, which ends the backends first
}

std::string PostgresServer::conninfo() const {
  return "host=" + host_ + " port=" + std::to_string(port_) + " dbname=postgres user=postgres";
}

std::string PostgresServer::socket_conninfo() const {
  return "host=" + dir_.path() + " port=" + std::to_string(port_) +
         " dbname=postgres user=postgres";
}

pid_t PostgresServer::pid() const { return server_->pid(); }

std::string PostgresServer::log() const {
  std::string text = read_file(dir_.path() + "/postgres.log").value_or("");
  if (server_) text = server_->err() + text;  // what it said before the log collector started
  return text;
}

CommandResult PostgresServer::psql(const std::string& sql,
                                   std::chrono::milliseconds timeout) const {
  auto argv = psql_command();
  argv.push_back("-c");
  argv.push_back(sql);
  return run_command(argv, timeout);
}

std::vector<std::string> PostgresServer::psql_command(const std::string& conninfo) const {
  const std::string target = conninfo.empty() ? this->conninfo() : conninfo;
  return {bindir() + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", target};
}

std::vector<std::string> PostgresServer::pgbench_command(
    const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {bindir() + "/pgbench", "-h", host_,     "-p",
                                   std::to_string(port_), "-U", "postgres"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("postgres");
  return argv;
}

CommandResult PostgresServer::pgbench(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout) const {
  return run_command(pgbench_command(args), timeout);
}

CommandResult PostgresServer::pgbench_init(int scale) const {
  return pgbench({"-i", "-q", "-s", std::to_string(scale)});
}

// ---- MariaDB ----

MariaDbServer::MariaDbServer(std::vector<std::string> options) {
  const auto began = Clock::now();
  const std::string data = dir_.path() + "/data";
  copy_data_dir(mariadb_template(), data);
  // --pdeathsig: see as_postgres. The error log goes to a file for the same reason as postgres's.
  std::vector<std::string> argv = {"setpriv",
                                   "--pdeathsig=KILL",
                                   "--",
                                   "mariadbd",
                                   "--no-defaults",
                                   "--user=root",
                                   "--datadir=" + data,
                                   "--socket=" + socket(),
                                   "--skip-networking",
                                   "--pid-file=" + dir_.path() + "/mariadbd.pid",
                                   "--log-error=" + dir_.path() + "/error.log",
                                   "--general-log-file=" + dir_.path() + "/general.log",
                                   "--innodb-log-file-size=4M",
                                   "--innodb-buffer-pool-size=16M",
                                   "--innodb-flush-log-at-trx-commit=0"};
  argv.insert(argv.end(), options.begin(), options.end());
  server_.emplace(argv);
  const auto deadline = Clock::now() + kMariaDbStartTimeout;
  while (!sql("SELECT 1", 5s).ok()) {
    if (has_exited(server_->pid()) || Clock::now() >= deadline) {
      const std::string why = "mariadbd did not start:\n" + log();
      stop(server_, SIGTERM);
      throw std::runtime_error(why);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  startup_ms_ = ms_since(began);
}

MariaDbServer::~MariaDbServer() { stop(server_, SIGTERM); }

std::string MariaDbServer::log() const {
  return server_->err() + read_file(dir_.path() + "/error.log").value_or("");
}

std::string MariaDbServer::general_log() const {
  return read_file(dir_.path() + "/general.log").value_or("");
}

CommandResult MariaDbServer::sql(const std::string& sql, std::chrono::milliseconds timeout) const {
  auto argv = client_command();
  argv.push_back("-e");
  argv.push_back(sql);
  return run_command(argv, timeout);
}

std::vector<std::string> MariaDbServer::client_command() const {
  return {"mariadb",     "--no-defaults", "--socket=" + socket(),
          "--user=root", "--batch",       "--skip-column-names"};
}

// ---- Fixtures ----

std::vector<std::string> pq_fixture_command(const std::string& conninfo,
                                            const std::string& output) {
  return {PQ_FIXTURE, conninfo, output};
}

std::vector<std::string> mysql_fixture_command(const std::string& socket,
                                               const std::string& output) {
  return {MYSQL_FIXTURE, socket, output};
}

std::vector<std::string> psycopg2_fixture_command(const std::string& conninfo,
                                                  const std::string& output) {
  // -I: isolated from PYTHON* variables and the user's site-packages, so only Debian's modules.
  return {kFixturePython, "-I", PSYCOPG2_FIXTURE, conninfo, output};
}

std::vector<std::string> sqlite3_fixture_command(const std::string& db_path,
                                                 const std::string& output) {
  return {kFixturePython, "-I", SQLITE3_FIXTURE, db_path, output};
}

std::vector<std::string> sqlite3_cli_command(const std::string& db_path) {
  return {"sqlite3", "-batch", db_path};
}

std::string sqlite3_cli_script() { return SQLITE3_CLI_SCRIPT; }
std::string sqlite3_cli_expected() { return SQLITE3_CLI_EXPECTED; }

std::vector<FixtureQuery> read_fixture_queries(const std::string& path) {
  std::vector<FixtureQuery> queries;
  const auto text = read_file(path);
  if (!text) {
    ADD_FAILURE() << "no fixture output file " << path;
    return queries;
  }
  std::istringstream lines(*text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      queries.push_back({j.at("query").get<std::string>(), j.at("vendor").get<std::string>(),
                         j.at("rows").get<int64_t>(), j.at("error").get<bool>(),
                         j.at("api").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << path << ":" << number << ": " << e.what() << ": " << line;
    }
  }
  return queries;
}

DbFixture::DbFixture(std::vector<std::string> argv, std::string output)
    : process_(std::move(argv)), output_(std::move(output)) {}

bool DbFixture::wait_ready(std::chrono::milliseconds timeout) {
  return process_.wait_for_stderr(": ready", timeout);
}

// ---- pgbench's report ----

std::vector<PgbenchStatement> PgbenchReport::sql_statements() const {
  std::vector<PgbenchStatement> sql;
  for (const auto& statement : statements) {
    if (statement.is_sql()) sql.push_back(statement);
  }
  return sql;
}

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// The number after `prefix` at the start of `line`, if the line starts so.
std::optional<double> number_after(std::string_view line, std::string_view prefix) {
  if (line.substr(0, prefix.size()) != prefix) return std::nullopt;
  const std::string rest(line.substr(prefix.size()));
  char* end = nullptr;
  const double value = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str()) return std::nullopt;
  return value;
}

// One line of the -r block: "  0.110  0  SELECT ...". pgbench 15 puts failures (and, with
// --max-tries, retries) columns between the latency and the command; older ones have none.
std::optional<PgbenchStatement> parse_statement_line(std::string_view line) {
  if (line.empty() || (line.front() != ' ' && line.front() != '\t')) return std::nullopt;
  std::istringstream in{std::string(trim(line))};
  PgbenchStatement statement;
  if (!(in >> statement.latency_ms)) return std::nullopt;
  std::string token;
  for (int column = 0; in >> token; ++column, token.clear()) {
    if (token.find_first_not_of("0123456789") != std::string::npos) break;  // the command
    if (column == 0) statement.failures = std::stoll(token);
  }
  std::string rest;
  std::getline(in, rest);
  statement.command = std::string(trim(token + rest));
  if (statement.command.empty()) return std::nullopt;
  return statement;
}

}  // namespace

std::optional<PgbenchReport> parse_pgbench_report(std::string_view text) {
  PgbenchReport report;
  bool have_transactions = false;
  bool in_latencies = false;
  std::istringstream lines{std::string(text)};
  std::string raw;
  while (std::getline(lines, raw)) {
    const std::string_view line = raw;
    if (in_latencies) {
      if (auto statement = parse_statement_line(line)) {
        report.statements.push_back(std::move(*statement));
        continue;
      }
      in_latencies = false;
    }
    if (auto n = number_after(line, "number of transactions actually processed: ")) {
      report.transactions = static_cast<int64_t>(*n);
      have_transactions = true;
    } else if (auto ms = number_after(line, "latency average = ")) {
      report.latency_average_ms = *ms;
    } else if (line.starts_with("statement latencies in milliseconds")) {
      in_latencies = true;
    }
  }
  if (!have_transactions || report.statements.empty()) return std::nullopt;
  return report;
}

}  // namespace profilis::e2e
