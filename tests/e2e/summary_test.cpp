// End to end: --summary prints the table of what the agent saw — into a pipe as plain text, and in
// a real terminal (tmux) fitted to its width and in bold.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

using namespace std::chrono_literals;

constexpr int kCalls = 40;

std::string row_of(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + " ", 0) == 0) return line;
  }
  return "";
}

// The count column: the first number after the key.
long count_in(const std::string& row, const std::string& key) {
  std::istringstream in(row.substr(key.size()));
  long count = -1;
  in >> count;
  return count;
}

TEST(Summary, PrintsThePlainTableIntoAPipeAtExit) {
  PROFILIS_REQUIRE_ROOT();
  Process burst({BURST_FIXTURE, "slow", std::to_string(kCalls), "1"});
  ASSERT_TRUE(burst.wait_for_stderr("burst: ready", 10s)) << burst.err();
  Process agent({PROFILIS_AGENT_BIN, "--pid", std::to_string(burst.pid()), "--fn", "burst_slow",
                 "--summary=0"});
  ASSERT_TRUE(agent.wait_for_stderr("profilis-agent: tracing", 60s)) << agent.err();
  ASSERT_TRUE(burst.write_stdin("go\n"));
  ASSERT_TRUE(burst.wait_for_stderr("burst: done", 60s)) << burst.err();
  std::this_thread::sleep_for(1s);  // a flush interval or two: the events reach the sink
  agent.signal(SIGTERM);
  const ExitStatus status = agent.wait(30s);
  EXPECT_TRUE(status.exited() && status.code == 0) << status.describe() << agent.err();
  burst.close_stdin();
  burst.wait(10s);
  const std::string& err = agent.err();
  EXPECT_NE(err.find("profilis-agent summary, at exit"), std::string::npos) << err;
  EXPECT_NE(err.find("functions by total time"), std::string::npos) << err;
  const std::string row = row_of(err, "burst_slow");
  ASSERT_FALSE(row.empty()) << err;
  EXPECT_EQ(count_in(row, "burst_slow"), kCalls) << row;
  EXPECT_NE(err.find("usecs"), std::string::npos) << "no distribution:\n" << err;
  EXPECT_EQ(err.find('\033'), std::string::npos) << "escape codes into a pipe";
  EXPECT_EQ(agent.out(), "") << "with --summary alone, no JSON on stdout";
}

// tmux: a terminal of a known width, read back with capture-pane.
class Tmux {
 public:
  Tmux() : socket_("profilis-test-" + std::to_string(::getpid())) {}
  ~Tmux() { run({"tmux", "-L", socket_, "kill-server"}, 10s); }

  bool start(const std::string& command, int width) {
    return run({"tmux", "-L", socket_, "new-session", "-d", "-s", "t", "-x", std::to_string(width),
                "-y", "60", command},
               10s)
               .code == 0;
  }

  std::string capture(bool escapes) {
    std::string out;
    std::vector<std::string> argv = {"tmux", "-L", socket_, "capture-pane", "-p",
                                     "-t",   "t",  "-S",    "-200"};
    if (escapes) argv.push_back("-e");
    run(argv, 10s, &out);
    return out;
  }

 private:
  std::string socket_;
};

TEST(Summary, FitsTheTerminalAndUsesBoldThere) {
  PROFILIS_REQUIRE_ROOT();
  Process burst({BURST_FIXTURE, "slow", std::to_string(kCalls), "1"});
  ASSERT_TRUE(burst.wait_for_stderr("burst: ready", 10s)) << burst.err();
  Tmux tmux;
  constexpr int kWidth = 96;
  // remain: the pane stays readable after the agent exits.
  ASSERT_TRUE(tmux.start(std::string(PROFILIS_AGENT_BIN) + " --pid " + std::to_string(burst.pid()) +
                             " --fn burst_slow --summary=1s --duration 6s; echo AGENT-EXIT=$?; "
                             "sleep 60",
                         kWidth));
  std::string screen;
  for (int i = 0; i < 200 && screen.find("profilis-agent: tracing") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    screen = tmux.capture(false);
  }
  ASSERT_NE(screen.find("profilis-agent: tracing"), std::string::npos) << screen;
  ASSERT_TRUE(burst.write_stdin("go\n"));
  ASSERT_TRUE(burst.wait_for_stderr("burst: done", 60s)) << burst.err();
  for (int i = 0; i < 300 && screen.find("AGENT-EXIT=") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    screen = tmux.capture(false);
  }
  ASSERT_NE(screen.find("AGENT-EXIT=0"), std::string::npos) << screen;
  EXPECT_NE(screen.find("profilis-agent summary, so far"), std::string::npos)
      << "no table during the run:\n"
      << screen;
  EXPECT_NE(screen.find("profilis-agent summary, at exit"), std::string::npos) << screen;
  const std::string at_exit = screen.substr(screen.rfind("profilis-agent summary, at exit"));
  const std::string row = row_of(at_exit, "burst_slow");
  ASSERT_FALSE(row.empty()) << screen;
  EXPECT_EQ(count_in(row, "burst_slow"), kCalls) << row;
  std::istringstream lines(at_exit);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), static_cast<std::size_t>(kWidth)) << line;
  }
  EXPECT_NE(tmux.capture(true).find("\033[1m"), std::string::npos) << "no bold in a terminal";
  burst.close_stdin();
  burst.wait(10s);
}

}  // namespace
}  // namespace profilis::e2e
