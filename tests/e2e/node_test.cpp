// End-to-end tests of probes on files for every process: --binary on a library and --node, with
// programs started after the agent (traced from their first query, without being named), process
// names excluded in the kernel, and a process in its own mount namespace traced through its own
// copy of the library, labelled with its container and pod.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/db_servers.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kSqliteLibrary = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0";

// The agent tracing files for every process, writing JSONL into its own directory until stopped.
class FileWideAgent {
 public:
  explicit FileWideAgent(std::vector<std::string> options) {
    std::vector<std::string> argv = {PROFILIS_AGENT_BIN, "--jsonl-dir", out_.path(), "--sql-text",
                                     "raw"};
    argv.insert(argv.end(), options.begin(), options.end());
    process_.emplace(argv);
    ready_ = process_->wait_for_stderr("profilis-agent: tracing", 60s);
  }
  bool ready() const { return ready_; }
  bool wait_for_stderr(std::string_view needle) { return process_->wait_for_stderr(needle, 30s); }
  std::string err() const { return process_->err(); }

  // Stops the agent as a user would and returns its events, by pid.
  std::map<pid_t, std::vector<json>> stop() {
    process_->signal(SIGTERM);
    const auto status = process_->wait(30s);
    EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n" << err();
    std::map<pid_t, std::vector<json>> events;
    for (const auto& entry : fs::directory_iterator(out_.path())) {
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        const json event = json::parse(line);
        events[event.value("pid", 0)].push_back(event);
      }
    }
    return events;
  }

 private:
  TempDir out_;
  std::optional<Process> process_;
  bool ready_ = false;
};

// Every query the fixture sent appears once among `events` (a driver's own BEGIN/COMMIT aside),
// and nothing else does.
void expect_exactly_its_queries(const DbFixture& fixture, const std::vector<json>& events) {
  std::map<std::string, int> sent, got;
  for (const auto& query : fixture.queries()) ++sent[query.query];
  ASSERT_FALSE(sent.empty());
  for (const auto& event : events) {
    const std::string text = event.value("query", "");
    if (!sent.contains(text) &&
        (text.starts_with("BEGIN") || text.starts_with("COMMIT") || text.starts_with("ROLLBACK"))) {
      continue;
    }
    ++got[text];
  }
  EXPECT_EQ(got, sent);
}

// Runs a DB fixture to its end: started after the agent, it maps its library, then queries.
void run_to_the_end(DbFixture& fixture) {
  ASSERT_TRUE(fixture.wait_ready()) << fixture.process().err();
  ASSERT_TRUE(fixture.go());
  const auto status = fixture.wait();
  ASSERT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n"
                                                   << fixture.process().err();
}

TEST(BinaryTracing, ALibraryIsTracedInAProcessStartedAfterTheAgentFromItsFirstQuery) {
  PROFILIS_REQUIRE_ROOT();
  FileWideAgent agent({"--binary", fs::canonical(kSqliteLibrary).string()});
  ASSERT_TRUE(agent.ready()) << agent.err();
  TempDir dir;
  DbFixture fixture(sqlite3_fixture_command(dir.path() + "/test.db", dir.path() + "/q.jsonl"),
                    dir.path() + "/q.jsonl");
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(fixture));
  auto events = agent.stop();
  expect_exactly_its_queries(fixture, events[fixture.pid()]);
}

TEST(BinaryTracing, AFileWithNothingToTraceIsRefused) {
  PROFILIS_REQUIRE_ROOT();
  Process agent({PROFILIS_AGENT_BIN, "--binary", "/usr/bin/true"});
  const auto status = agent.wait(30s);
  EXPECT_EQ(status.code, 2) << status.describe() << "\n" << agent.err();
  EXPECT_NE(agent.err().find("nothing to trace in it"), std::string::npos) << agent.err();
  Process missing({PROFILIS_AGENT_BIN, "--binary", "/no/such/file"});
  EXPECT_EQ(missing.wait(30s).code, 2) << missing.err();
}

// The cgroup v2 hierarchy: alone at /sys/fs/cgroup, or beside v1's controllers (hybrid).
fs::path unified_hierarchy() {
  for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    if (fs::exists(fs::path(root) / "cgroup.procs") && !fs::exists(fs::path(root) / "tasks")) {
      return root;
    }
  }
  return {};
}

TEST(NodeTracing, Psycopg2AndSqlite3ProgramsStartedLaterAreTracedWithoutBeingNamed) {
  PROFILIS_REQUIRE_ROOT();
  PostgresServer server;
  FileWideAgent agent({"--node"});
  ASSERT_TRUE(agent.ready()) << agent.err();
  TempDir dir;
  DbFixture postgres(psycopg2_fixture_command(server.conninfo(), dir.path() + "/pg.jsonl"),
                     dir.path() + "/pg.jsonl");
  DbFixture sqlite(sqlite3_fixture_command(dir.path() + "/test.db", dir.path() + "/sq.jsonl"),
                   dir.path() + "/sq.jsonl");
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(postgres));
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(sqlite));
  auto events = agent.stop();
  expect_exactly_its_queries(postgres, events[postgres.pid()]);
  expect_exactly_its_queries(sqlite, events[sqlite.pid()]);
  EXPECT_FALSE(events.contains(0));
}

TEST(NodeTracing, ExcludeCommKeepsMatchingProcessesOut) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  // Its process name comes from the name it is run by: "pyexcluded-sqli" (15 characters).
  const std::string renamed = dir.path() + "/pyexcluded-sqlite";
  fs::create_symlink("/usr/bin/python3", renamed);
  FileWideAgent agent({"--node", "--exclude-comm", "pyexcluded*"});
  ASSERT_TRUE(agent.ready()) << agent.err();
  auto excluded_command = sqlite3_fixture_command(dir.path() + "/a.db", dir.path() + "/a.jsonl");
  excluded_command[0] = renamed;
  DbFixture excluded(excluded_command, dir.path() + "/a.jsonl");
  DbFixture included(sqlite3_fixture_command(dir.path() + "/b.db", dir.path() + "/b.jsonl"),
                     dir.path() + "/b.jsonl");
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(excluded));
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(included));
  auto events = agent.stop();
  EXPECT_FALSE(events.contains(excluded.pid()))
      << events[excluded.pid()].size() << " events of the excluded process";
  expect_exactly_its_queries(included, events[included.pid()]);
}

// A cgroup named as containerd names a container's, removed at the end.
class ContainerCgroup {
 public:
  explicit ContainerCgroup(const std::string& id) {
    const fs::path unified = unified_hierarchy();
    if (unified.empty()) return;
    path_ = unified / ("profilis-ct-" + std::to_string(::getpid()) + "-" + id.substr(0, 8)) /
            ("cri-containerd-" + id + ".scope");
    std::error_code error;
    fs::create_directories(path_, error);
    if (error) path_.clear();
  }
  ~ContainerCgroup() {
    std::error_code error;
    if (path_.empty()) return;
    fs::remove(path_, error);
    fs::remove(path_.parent_path(), error);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A shell that moves itself into `cgroup`, then execs `command`.
std::vector<std::string> in_cgroup(const fs::path& cgroup,
                                   const std::vector<std::string>& command) {
  std::string shell = "echo $$ > " + (cgroup / "cgroup.procs").string() + " && exec";
  for (const auto& argument : command) shell += " '" + argument + "'";
  return {"sh", "-c", shell};
}

TEST(NodeTracing, IncludeContainerTracesOnlyProcessesOfTheIncludedContainers) {
  PROFILIS_REQUIRE_ROOT();
  const std::string included_id(64, 'a'), other_id(64, 'b');
  ContainerCgroup included(included_id), other(other_id);
  ASSERT_FALSE(included.path().empty() || other.path().empty()) << "no cgroup v2 hierarchy";
  FileWideAgent agent({"--node", "--verbose", "--include-container", "aaaa*"});
  ASSERT_TRUE(agent.ready()) << agent.err();
  TempDir dir;
  DbFixture inside(in_cgroup(included.path(), sqlite3_fixture_command(dir.path() + "/a.db",
                                                                      dir.path() + "/a.jsonl")),
                   dir.path() + "/a.jsonl");
  DbFixture outside(in_cgroup(other.path(), sqlite3_fixture_command(dir.path() + "/b.db",
                                                                    dir.path() + "/b.jsonl")),
                    dir.path() + "/b.jsonl");
  DbFixture host(sqlite3_fixture_command(dir.path() + "/c.db", dir.path() + "/c.jsonl"),
                 dir.path() + "/c.jsonl");
  ASSERT_TRUE(inside.wait_ready()) << inside.process().err();
  // A new process is held until the agent has read its cgroup; --verbose says when it let it in.
  ASSERT_TRUE(agent.wait_for_stderr("pid " + std::to_string(inside.pid()) + " (python3) traced"))
      << agent.err();
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(inside));
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(outside));
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(host));
  auto events = agent.stop();
  expect_exactly_its_queries(inside, events[inside.pid()]);
  for (const auto& event : events[inside.pid()]) {
    EXPECT_EQ(event.value("container_id", ""), included_id) << event.dump();
  }
  EXPECT_FALSE(events.contains(outside.pid())) << events[outside.pid()].size() << " events";
  EXPECT_FALSE(events.contains(host.pid())) << events[host.pid()].size() << " events";
}

TEST(NodeTracing, AProcessInItsOwnMountNamespaceIsTracedThroughItsOwnCopyWithItsPod) {
  PROFILIS_REQUIRE_ROOT();
  constexpr const char* kId = "5e1f0c3a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
  TempDir dir;
  const ContainerCgroup container(kId);
  ASSERT_FALSE(container.path().empty()) << "no cgroup v2 hierarchy under /sys/fs/cgroup";
  const fs::path& cgroup = container.path();
  // The kubelet's links, as the DaemonSet mounts them.
  const std::string kubelet_dir = dir.path() + "/containers";
  fs::create_directory(kubelet_dir);
  fs::create_symlink("/var/log/pods/payments_ledger-6d5f7c9b8-x2k4p_uid/worker/0.log",
                     kubelet_dir + "/ledger-6d5f7c9b8-x2k4p_payments_worker-" + kId + ".log");
  ASSERT_EQ(::setenv("PROFILIS_KUBELET_LOG_DIR", kubelet_dir.c_str(), 1), 0);
  FileWideAgent agent({"--node", "--verbose"});
  ::unsetenv("PROFILIS_KUBELET_LOG_DIR");
  ASSERT_TRUE(agent.ready()) << agent.err();

  // A private copy of the library (another inode), mounted over the system's in a new mount
  // namespace, and a private copy of the fixture script.
  const std::string library = fs::canonical(kSqliteLibrary).string();
  const std::string copy = dir.path() + "/libsqlite3-copy.so";
  fs::copy_file(library, copy);
  auto command = sqlite3_fixture_command(dir.path() + "/c.db", dir.path() + "/c.jsonl");
  const std::string script_copy = dir.path() + "/fixture-copy.py";
  std::string shell = "echo $$ > " + (cgroup / "cgroup.procs").string() + " && mount --bind " +
                      copy + " " + library + " && exec";
  for (auto& argument : command) {
    if (argument.ends_with(".py")) {
      fs::copy_file(argument, script_copy);
      argument = script_copy;
    }
    shell += " '" + argument + "'";
  }
  DbFixture fixture({"unshare", "--mount", "--propagation", "private", "sh", "-c", shell},
                    dir.path() + "/c.jsonl");
  ASSERT_TRUE(fixture.wait_ready()) << fixture.process().err();
  // The agent probes a new mount namespace's own library when the process execs, a few
  // milliseconds later (more under a sanitizer): the queries wait for that, as --verbose tells.
  ASSERT_TRUE(agent.wait_for_stderr("(as /proc/" + std::to_string(fixture.pid()) + "/root/"))
      << agent.err();
  ASSERT_NO_FATAL_FAILURE(run_to_the_end(fixture));
  auto events = agent.stop();
  const auto& mine = events[fixture.pid()];
  expect_exactly_its_queries(fixture, mine);
  for (const auto& event : mine) {
    EXPECT_EQ(event.value("container_id", ""), kId) << event.dump();
    EXPECT_EQ(event.value("k8s_namespace", ""), "payments") << event.dump();
    EXPECT_EQ(event.value("k8s_pod", ""), "ledger-6d5f7c9b8-x2k4p") << event.dump();
    EXPECT_EQ(event.value("k8s_container", ""), "worker") << event.dump();
  }
  // Its own copy was attached, besides the system's.
  std::size_t attaches = 0;
  for (std::size_t at = 0;
       (at = agent.err().find(std::string("attached to /usr/lib/x86_64-linux-gnu/libsqlite3.so"),
                              at)) != std::string::npos;
       ++at) {
    ++attaches;
  }
  EXPECT_GE(attaches, 2u) << agent.err();
}

}  // namespace
}  // namespace profilis::e2e
