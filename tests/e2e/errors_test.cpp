// End to end: the agent's failures. Each must exit with the code of docs/design.md §4, say what is
// wrong in one "profilis-agent: error: " line on stderr, and never crash.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr auto kTimeout = 30s;
constexpr int kUsage = 2;
constexpr int kPrivilege = 3;
constexpr const char* kNobody = "65534";

class AgentErrorTest : public ::testing::Test {
 protected:
  // A fixture process that waits for "go" forever (it never gets it): a live pid to point at.
  void start_fixture(const std::string& binary, std::vector<std::string> prefix = {}) {
    prefix.insert(prefix.end(), {binary, "/dev/null"});
    fixture_ = std::make_unique<Process>(prefix);
    ASSERT_TRUE(fixture_->wait_for_stderr("fn_fixture: ready", kTimeout)) << fixture_->err();
  }
  std::string fixture_pid() const { return std::to_string(fixture_->pid()); }

  // Runs the agent with `args` (after `prefix`, e.g. a setpriv command line) to its end.
  void run_agent(const std::vector<std::string>& args, std::vector<std::string> prefix = {},
                 std::string agent = PROFILIS_AGENT_BIN) {
    ASSERT_TRUE(fs::exists(agent)) << agent;
    prefix.push_back(agent);
    prefix.insert(prefix.end(), args.begin(), args.end());
    status_ = run(prefix, kTimeout, nullptr, &err_);
  }

  // The agent ended by itself with `code`, and its error line contains `needle`.
  void expect_error(int code, const std::string& needle) {
    ASSERT_FALSE(status_.timed_out) << "agent hung; stderr:\n" << err_;
    ASSERT_EQ(status_.signal, 0) << "agent crashed: " << status_.describe() << "\n" << err_;
    ASSERT_LT(status_.code, 128) << status_.describe() << "\n" << err_;
    EXPECT_EQ(status_.code, code) << err_;
    const size_t line = err_.find("profilis-agent: error: ");
    ASSERT_TRUE(line != std::string::npos) << "no error line on stderr:\n" << err_;
    EXPECT_TRUE(err_.find(needle, line) != std::string::npos)
        << "the error should mention '" << needle << "':\n"
        << err_;
  }

  std::unique_ptr<Process> fixture_;
  ExitStatus status_;
  std::string err_;
};

TEST_F(AgentErrorTest, UnknownPid) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(run_agent({"--pid", "999999999", "--fn", "x"}));
  expect_error(kUsage, "999999999");
}

TEST_F(AgentErrorTest, LibraryNotMappedByTarget) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  ASSERT_NO_FATAL_FAILURE(run_agent({"--pid", fixture_pid(), "--fn", "libnope.so.9:foo"}));
  expect_error(kUsage, "libnope.so.9");
}

TEST_F(AgentErrorTest, NoMatchingSymbolSuggestsCloseOne) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  ASSERT_NO_FATAL_FAILURE(run_agent({"--pid", fixture_pid(), "--fn", "fx_sleep_mss"}));
  expect_error(kUsage, "fx_sleep_mss");
  // "fx_sleep_mss" contains "fx_sleep_ms": look for the suggestion on its own.
  bool suggested = false;
  for (size_t at = err_.find("fx_sleep_ms"); at != std::string::npos && !suggested;
       at = err_.find("fx_sleep_ms", at + 1)) {
    suggested = at + 11 == err_.size() || err_[at + 11] != 's';
  }
  EXPECT_TRUE(suggested) << "expected the close match fx_sleep_ms to be suggested:\n" << err_;
}

// Unprivileged: both the agent and its target run as nobody, so the only thing missing is the
// privilege to load BPF. The binaries are copied where nobody may run them.
TEST_F(AgentErrorTest, MissingPrivileges) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const std::string agent = dir.path() + "/profilis-agent", fixture = dir.path() + "/fn_fixture";
  fs::copy_file(PROFILIS_AGENT_BIN, agent);
  fs::copy_file(FN_FIXTURE_PIE, fixture);
  const std::vector<std::string> as_nobody = {"setpriv", std::string("--reuid=") + kNobody,
                                              std::string("--regid=") + kNobody, "--clear-groups"};
  ASSERT_NO_FATAL_FAILURE(start_fixture(fixture, as_nobody));
  ASSERT_NO_FATAL_FAILURE(
      run_agent({"--pid", fixture_pid(), "--fn", "fx_sleep_ms"}, as_nobody, agent));
  expect_error(kPrivilege, "CAP_BPF");
}

TEST_F(AgentErrorTest, UnknownOption) {
  ASSERT_NO_FATAL_FAILURE(run_agent({"--bogus-option"}));
  expect_error(kUsage, "bogus-option");
}

TEST_F(AgentErrorTest, PidNotANumber) {
  ASSERT_NO_FATAL_FAILURE(run_agent({"--pid", "abc", "--fn", "x"}));
  expect_error(kUsage, "pid");
}

// Everything but the duration is valid, so the exit code can only come from it.
TEST_F(AgentErrorTest, NegativeDuration) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  ASSERT_NO_FATAL_FAILURE(
      run_agent({"--pid", fixture_pid(), "--fn", "fx_sleep_ms", "--duration", "-5"}));
  expect_error(kUsage, "duration");
}

// A sink that cannot open fails before any probe is attached: at once, and the target never
// carries probes for nothing. --db auto and --verbose: many probes, each one logged when attached.
TEST_F(AgentErrorTest, SinkErrorsComeBeforeAnyProbeIsAttached) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  ASSERT_TRUE(std::ofstream(file) << "x");
  const std::vector<std::string> target = {"--pid", fixture_pid(), "--fn",     "fx_*",
                                           "--db",  "auto",        "--verbose"};

  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), target.begin(), target.end());
    return extra;
  };
  ASSERT_NO_FATAL_FAILURE(run_agent(with({"--jsonl-dir", file})));
  expect_error(kUsage, "--jsonl-dir");
  EXPECT_EQ(err_.find("attached"), std::string::npos) << err_;

  // A port that is taken: exit 1, before the attach too.
  const int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(squatter, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int port = free_port();
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(squatter, 1), 0);
  ASSERT_NO_FATAL_FAILURE(run_agent(with({"--prometheus", "127.0.0.1:" + std::to_string(port)})));
  ::close(squatter);
  expect_error(1, "in use");
  EXPECT_EQ(err_.find("attached"), std::string::npos) << err_;
}

// Two agents on one --jsonl-dir would share its active file: the second is refused (exit 2) and the
// first goes on unharmed, its events all in its file.
TEST_F(AgentErrorTest, SecondAgentOnTheSameJsonlDirIsRefused) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start_fixture(FN_FIXTURE_PIE));
  TempDir dir;
  Process first({PROFILIS_AGENT_BIN, "--pid", fixture_pid(), "--fn", "fx_sleep_ms", "--jsonl-dir",
                 dir.path()});
  ASSERT_TRUE(first.wait_for_stderr("profilis-agent: tracing", kTimeout)) << first.err();

  ASSERT_NO_FATAL_FAILURE(
      run_agent({"--pid", fixture_pid(), "--fn", "fx_sleep_ms", "--jsonl-dir", dir.path()}));
  expect_error(kUsage, "another process");

  first.signal(SIGTERM);
  const ExitStatus status = first.wait(kTimeout);
  EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << "\n" << first.err();
  EXPECT_NE(first.err().find("delivered: 0 to jsonl"), std::string::npos) << first.err();
}

}  // namespace
}  // namespace profilis::e2e
