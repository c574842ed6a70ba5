// End to end: return probes at exit instructions on the exit_forms fixture — conditional and
// jrcxz tail calls counted once per call (the kernel tests the jump's condition), a C++ function
// an exception leaves (no event, counted as abandoned, the program unharmed), a function whose
// exit is an indirect jump (refused by name), and the harm uretprobes do to the same program.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kTimeout = 60s;
constexpr int kIterations = 3000;

std::map<std::string, long> fixture_counts(const std::string& out) {
  std::map<std::string, long> counts;
  std::istringstream lines(out);
  std::string name;
  long n = 0;
  while (lines >> name >> n) counts[name] = n;
  return counts;
}

std::map<std::string, long> agent_counts(const std::string& dir) {
  std::map<std::string, long> counts;
  for (const auto& entry : fs::directory_iterator(dir)) {
    for (const Json& event : read_json_lines(entry.path())) {
      if (event.value("kind", "") == "FN") ++counts[event.value("fn", "")];
    }
  }
  return counts;
}

class ExitForms : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& options) {
    fixture_ = std::make_unique<Process>(
        std::vector<std::string>{EXIT_FORMS_FIXTURE, std::to_string(kIterations)});
    ASSERT_TRUE(fixture_->wait_for_stderr("exit_forms: ready", kTimeout)) << fixture_->err();
    fs::create_directory(dir_.path() + "/jsonl");
    std::vector<std::string> argv = {
        PROFILIS_AGENT_BIN,     "--pid",    std::to_string(fixture_->pid()), "--jsonl-dir",
        dir_.path() + "/jsonl", "--verbose"};
    argv.insert(argv.end(), options.begin(), options.end());
    agent_ = std::make_unique<Process>(argv);
  }

  TempDir dir_;
  std::unique_ptr<Process> fixture_;
  std::unique_ptr<Process> agent_;
};

TEST_F(ExitForms, CountsEveryReturnOnceAndLeavesTheProgramUnharmed) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(
      start({"--fn", "cond_tail", "--fn", "rcx_tail", "--fn", "target_fn", "--fn", "may_throw"}));
  ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", kTimeout)) << agent_->err();
  ASSERT_TRUE(fixture_->write_stdin("go\n"));
  const ExitStatus fixture = fixture_->wait(kTimeout);
  ASSERT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << fixture_->err();
  const ExitStatus agent = agent_->wait(kTimeout);
  ASSERT_TRUE(agent.exited() && agent.code == 0) << agent.describe() << agent_->err();

  const auto want = fixture_counts(fixture_->out());
  ASSERT_EQ(want.at("cond_tail"), kIterations) << fixture_->out();
  ASSERT_GT(want.at("thrown"), 0) << fixture_->out();
  const auto got = agent_counts(dir_.path() + "/jsonl");
  for (const char* fn : {"cond_tail", "rcx_tail", "target_fn"}) {
    EXPECT_EQ(got.count(fn) ? got.at(fn) : 0, want.at(fn)) << fn;
  }
  EXPECT_EQ(got.count("may_throw(int)") ? got.at("may_throw(int)") : 0, want.at("may_throw"));
  EXPECT_NE(agent_->err().find(std::to_string(want.at("thrown")) + " left by longjmp/unwind"),
            std::string::npos)
      << agent_->err();
  EXPECT_NE(agent_->err().find(" 0 returns without an entry"), std::string::npos) << agent_->err();
  // How each was probed, as --verbose says.
  const std::string& err = agent_->err();
  EXPECT_NE(err.find("may_throw(int) in"), std::string::npos) << err;
  EXPECT_NE(err.find("returns at its 1 exit instruction and those of the 1 function its tail "
                     "calls go on in: it calls other code"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("returns by uretprobe: it calls nothing"), std::string::npos) << err;
  EXPECT_NE(err.find("returns at its 2 exit instructions and those of the 1 function"),
            std::string::npos)
      << err;
}

TEST_F(ExitForms, RefusesAFunctionWhoseExitIsAnIndirectJump) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start({"--fn", "indirect_exit"}));
  const ExitStatus agent = agent_->wait(kTimeout);
  EXPECT_TRUE(agent.exited() && agent.code == 2) << agent.describe() << agent_->err();
  EXPECT_NE(agent_->err().find("cannot time indirect_exit"), std::string::npos) << agent_->err();
  EXPECT_NE(agent_->err().find("an indirect jump at"), std::string::npos) << agent_->err();
}

// What the default avoids: with a uretprobe on a function an exception leaves, the unwinder meets
// the kernel's trampoline and the C++ runtime ends the program.
TEST_F(ExitForms, UretprobesOnAFunctionAnExceptionLeavesEndTheProgram) {
  PROFILIS_REQUIRE_ROOT();
  ASSERT_NO_FATAL_FAILURE(start({"--fn", "may_throw", "--fn-returns", "uretprobes"}));
  ASSERT_TRUE(agent_->wait_for_stderr("profilis-agent: tracing", kTimeout)) << agent_->err();
  ASSERT_TRUE(fixture_->write_stdin("go\n"));
  const ExitStatus fixture = fixture_->wait(kTimeout);
  EXPECT_EQ(fixture.signal, SIGABRT) << fixture.describe() << fixture_->err();
  agent_->wait(kTimeout);
}

}  // namespace
}  // namespace profilis::e2e
