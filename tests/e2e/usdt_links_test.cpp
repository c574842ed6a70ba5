// End to end: how USDT probes are attached (agent/probes/usdt_attach.h). The fixture
// (many_sites.c) has one probe at 32 sites under one semaphore; the agent attaches them by one
// uprobe-multi link on a kernel that has them, by 32 perf-event uprobes (libbpf's path) with
// PROFILIS_NO_UPROBE_MULTI=1, and either way raises the semaphore in the traced process only while
// attached, and reports every hit.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr int kSites = 32;  // many_sites.c
constexpr auto kTimeout = 30s;

// The fixture's semaphore, read through /proc/PID/mem; nothing when it cannot be read.
std::optional<std::uint16_t> read_semaphore(pid_t pid, std::uint64_t address) {
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::uint16_t value = 0;
  const ssize_t n = ::pread(fd, &value, sizeof value, static_cast<off_t>(address));
  ::close(fd);
  return n == sizeof value ? std::optional(value) : std::nullopt;
}

// The uprobe links a process holds, by "link_type" (its fdinfo: "uprobe_multi", or "perf" for a
// perf-event uprobe), with the fdinfo of each. The scheduler tracepoints' links are left out.
std::multimap<std::string, std::string> bpf_links_of(pid_t pid) {
  std::multimap<std::string, std::string> links;
  const std::string proc = "/proc/" + std::to_string(pid);
  for (const auto& entry : fs::directory_iterator(proc + "/fd")) {
    std::error_code error;
    if (fs::read_symlink(entry.path(), error).string() != "anon_inode:bpf_link") continue;
    const std::string info =
        read_file(proc + "/fdinfo/" + entry.path().filename().string()).value_or("");
    const auto at = info.find("link_type:\t");
    if (at == std::string::npos) continue;
    const auto start = at + std::string("link_type:\t").size();
    std::string type = info.substr(start, info.find('\n', start) - start);
    if (type == "uprobe_multi" || type == "perf") links.emplace(std::move(type), info);
  }
  return links;
}

bool kernel_has_uprobe_multi() {
  utsname name{};
  int major = 0, minor = 0;
  return ::uname(&name) == 0 && std::sscanf(name.release, "%d.%d", &major, &minor) == 2 &&
         (major > 6 || (major == 6 && minor >= 6));
}

// The number after "hits " in the fixture's latest answer.
int last_hits(const Process& fixture) {
  const auto at = fixture.err().rfind("hits ");
  return at == std::string::npos ? -1 : std::atoi(fixture.err().c_str() + at + 5);
}

// Sets an environment variable for the agents this test starts, and unsets it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// Traces the fixture, passes its sites once while attached and once after the agent stopped;
// `expect_links` checks the agent's links while attached.
void run_many_sites(
    const std::function<void(const std::multimap<std::string, std::string>&)>& expect_links) {
  Process fixture({USDT_MANY_SITES_FIXTURE});
  ASSERT_TRUE(fixture.wait_for_stderr(": ready", kTimeout)) << fixture.err();
  const auto at = fixture.err().find("semaphore=");
  ASSERT_NE(at, std::string::npos) << fixture.err();
  const std::uint64_t semaphore = std::stoull(fixture.err().substr(at + 10), nullptr, 16);
  EXPECT_EQ(read_semaphore(fixture.pid(), semaphore), 0) << "raised before any agent";

  Process agent({PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture.pid()), "--db", "none",
                 "--usdt", "fixture:site", "--console"});
  ASSERT_TRUE(agent.wait_for_stderr("profilis-agent: tracing", kTimeout)) << agent.err();
  EXPECT_EQ(read_semaphore(fixture.pid(), semaphore), kSites) << "one count per site attached";
  expect_links(bpf_links_of(agent.pid()));
  ASSERT_TRUE(fixture.write_stdin("go\n"));
  ASSERT_TRUE(fixture.wait_for_stderr("hits", kTimeout)) << fixture.err();
  EXPECT_EQ(last_hits(fixture), kSites) << fixture.err();

  agent.signal(SIGINT);
  const ExitStatus stopped = agent.wait(kTimeout);
  EXPECT_TRUE(stopped.exited() && stopped.code == 0) << stopped.describe() << agent.err();
  // Detached by a child of the agent once it has exited (deferred_detach.h): soon, not at once.
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (read_semaphore(fixture.pid(), semaphore) != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(read_semaphore(fixture.pid(), semaphore), 0) << "still raised after the agent left";
  const std::size_t answers = fixture.err().size();
  ASSERT_TRUE(fixture.write_stdin("go\n"));
  fixture.close_stdin();
  const ExitStatus done = fixture.wait(kTimeout);
  EXPECT_TRUE(done.exited() && done.code == 0) << done.describe();
  EXPECT_GT(fixture.err().size(), answers);
  EXPECT_EQ(last_hits(fixture), 0) << fixture.err();

  int events = 0;
  for (const Json& event : parse_json_lines(agent.out(), "agent stdout")) {
    EXPECT_EQ(event.value("fn", ""), "fixture:site") << event.dump();
    ++events;
  }
  EXPECT_EQ(events, kSites) << agent.err();
}

TEST(UsdtLinks, OneUprobeMultiLinkHoldsEverySiteOfAProbe) {
  PROFILIS_REQUIRE_ROOT();
  if (!kernel_has_uprobe_multi()) {
    PROFILIS_SKIP_OUTSIDE_CI("kernel older than 6.6: no uprobe-multi links");
  }
  run_many_sites([](const std::multimap<std::string, std::string>& links) {
    ASSERT_EQ(links.count("uprobe_multi"), 1u);
    EXPECT_EQ(links.size(), 1u) << "no other uprobe link for one probe";
    const std::string& info = links.find("uprobe_multi")->second;
    EXPECT_NE(info.find("uprobe_cnt:\t" + std::to_string(kSites) + "\n"), std::string::npos)
        << info;
  });
}

TEST(UsdtLinks, LibbpfsPerfEventUprobesWhenUprobeMultiIsOff) {
  PROFILIS_REQUIRE_ROOT();
  const ScopedEnv fallback("PROFILIS_NO_UPROBE_MULTI", "1");
  run_many_sites([](const std::multimap<std::string, std::string>& links) {
    EXPECT_EQ(links.count("uprobe_multi"), 0u);
    EXPECT_EQ(links.count("perf"), static_cast<std::size_t>(kSites));
  });
}

// Three point probes of one file are one program's: one link holds the sites of all three, and
// each keeps its own name (the spec's cookie).
TEST(UsdtLinks, ProbesOfOneFileAndProgramShareOneLink) {
  PROFILIS_REQUIRE_ROOT();
  if (!kernel_has_uprobe_multi()) {
    PROFILIS_SKIP_OUTSIDE_CI("kernel older than 6.6: no uprobe-multi links");
  }
  TempDir dir;
  const std::string log = dir.path() + "/log.jsonl";
  Process fixture({USDT_SDT_FIXTURE, log});
  ASSERT_TRUE(fixture.wait_for_stderr(": ready", kTimeout)) << fixture.err();
  const std::vector<std::string> names = {"fixture:tick", "fixture:work__start",
                                          "fixture:work__done"};
  std::vector<std::string> argv = {
      PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture.pid()), "--db", "none", "--console"};
  for (const auto& name : names) argv.insert(argv.end(), {"--usdt", name});
  Process agent(argv);
  ASSERT_TRUE(agent.wait_for_stderr("profilis-agent: tracing", kTimeout)) << agent.err();
  const auto links = bpf_links_of(agent.pid());
  ASSERT_EQ(links.size(), 1u);
  const std::string& info = links.begin()->second;
  EXPECT_EQ(links.begin()->first, "uprobe_multi") << info;
  EXPECT_NE(info.find("uprobe_cnt:\t3\n"), std::string::npos) << info;

  ASSERT_TRUE(fixture.write_stdin("go\n"));
  fixture.close_stdin();
  const ExitStatus done = fixture.wait(kTimeout);
  EXPECT_TRUE(done.exited() && done.code == 0) << done.describe() << fixture.err();
  if (!agent.wait_for_stderr("all traced processes exited", kTimeout)) agent.signal(SIGINT);
  const ExitStatus stopped = agent.wait(kTimeout);
  EXPECT_TRUE(stopped.exited() && stopped.code == 0) << stopped.describe() << agent.err();
  std::map<std::string, int> events;
  for (const Json& event : parse_json_lines(agent.out(), "agent stdout")) {
    ++events[event.value("fn", "")];
  }
  for (const auto& name : names) EXPECT_GT(events[name], 0) << name;
  EXPECT_EQ(events.size(), names.size());
}

}  // namespace
}  // namespace profilis::e2e
