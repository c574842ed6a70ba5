// End to end: a marker inside a leaf function that keeps live locals in the x86-64 red zone (below
// %rsp, which a leaf need not move). On this kernel a traced marker's 5-byte NOP becomes a call
// into the uprobe trampoline, which pushes onto the stack; profilis/usdt.h steps over the red zone
// around the site so that this never touches the leaf's data. The fixture (redzone.c) checks every
// result; the test checks that it really keeps its locals there, that they survive being traced,
// that the agent reported every call, and, with a control build whose marker does not step over
// the red zone, that the hazard is real here (otherwise the first test would prove nothing).
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/process.h"
#include "tests/e2e/usdt_run.h"

namespace profilis::e2e {
namespace {

constexpr long kCalls = 100000;

// The fixture's last line: "<name>: N calls, W wrong"; -1 when it is missing.
long wrong_results(const std::string& err) {
  const auto at = err.rfind(" calls, ");
  if (at == std::string::npos) return -1;
  const auto line_start = err.rfind(": ", at);
  long calls = 0, wrong = -1;
  if (line_start == std::string::npos ||
      std::sscanf(err.c_str() + line_start + 2, "%ld calls, %ld wrong", &calls, &wrong) != 2 ||
      calls != kCalls) {
    return -1;
  }
  return wrong;
}

// rz_leaf's instructions, from objdump.
std::vector<std::string> leaf_disassembly(const std::string& binary) {
  std::string out, err;
  const ExitStatus status = run(
      {"objdump", "-d", "--no-show-raw-insn", "--disassemble=rz_leaf", binary}, 30s, &out, &err);
  EXPECT_TRUE(status.exited() && status.code == 0) << "objdump: " << status.describe() << err;
  std::vector<std::string> lines;
  std::istringstream in(out);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.find("<rz_leaf>:") != std::string::npos)
      inside = true;
    else if (inside && line.find('\t') != std::string::npos)
      lines.push_back(line);
  }
  return lines;
}

// A leaf without a frame: no call, no push, no `sub ...,%rsp`; it stores to and loads from
// negative offsets of %rsp (the marker's own `lea -0x80(%rsp),%rsp` aside).
void expect_locals_in_red_zone(const std::string& binary) {
  const auto lines = leaf_disassembly(binary);
  ASSERT_FALSE(lines.empty()) << "no rz_leaf in " << binary;
  const std::regex red_zone(R"(-0x[0-9a-f]+\(%rsp)");
  const std::regex store(R"(\bmov\w*\s+%\w+,-0x[0-9a-f]+\(%rsp)");
  const std::regex load(R"(\bmov\w*\s+-0x[0-9a-f]+\(%rsp[^)]*\),%\w+)");
  int stores = 0, loads = 0;
  std::string text;
  for (const std::string& line : lines) {
    text += line + "\n";
    EXPECT_EQ(line.find("call"), std::string::npos) << "not a leaf: " << line;
    EXPECT_EQ(line.find("push"), std::string::npos) << "has a frame: " << line;
    EXPECT_FALSE(std::regex_search(line, std::regex(R"(\bsub\s+\$0x[0-9a-f]+,%rsp)")))
        << "has a frame: " << line;
    if (!std::regex_search(line, red_zone) || line.find(",%rsp") != std::string::npos) continue;
    stores += std::regex_search(line, store);
    loads += std::regex_search(line, load);
  }
  EXPECT_GT(stores, 0) << binary << ": rz_leaf stores nothing below %rsp:\n" << text;
  EXPECT_GT(loads, 0) << binary << ": rz_leaf loads nothing from below %rsp:\n" << text;
}

TEST(UsdtRedZone, LeafKeepsItsLocalsBelowTheStackPointer) {
  expect_locals_in_red_zone(USDT_REDZONE_FIXTURE);
  expect_locals_in_red_zone(USDT_REDZONE_UNPROTECTED_FIXTURE);
}

TEST(UsdtRedZone, UntracedLeafComputesRight) {
  UsdtRun run;
  ASSERT_TRUE(run.start_fixture({USDT_REDZONE_FIXTURE, std::to_string(kCalls)}));
  const ExitStatus fixture = run.finish();
  EXPECT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << run.fixture_err();
  EXPECT_EQ(wrong_results(run.fixture_err()), 0) << run.fixture_err();
}

// With default options: the agent keeps every one of the 100 000 events of the burst.
TEST(UsdtRedZone, TracedLeafComputesRightAndEveryCallIsReported) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  ASSERT_TRUE(run.start_fixture({USDT_REDZONE_FIXTURE, std::to_string(kCalls)}));
  ASSERT_TRUE(run.start_agent({}));
  const ExitStatus fixture = run.finish();
  EXPECT_TRUE(fixture.exited() && fixture.code == 0) << fixture.describe() << run.fixture_err();
  EXPECT_EQ(wrong_results(run.fixture_err()), 0) << run.fixture_err();

  long reported = 0;
  for (const Json& event : run.events()) {
    expect_event_shape(event, {"fn", "error"}, run.pid(), run.comm());
    if (event.value("kind", "") == "FN" && event.value("fn", "") == "rz_leaf" &&
        event.value("error", true) == false && event.value("tid", 0) == run.pid()) {
      ++reported;
    } else {
      ADD_FAILURE() << "unexpected event: " << event.dump();
    }
  }
  // 100 000 pairs in a tight loop can outrun a slow reader (the sanitizer build's): the kernel then
  // drops records, and must count each one. Every call is either reported or counted as dropped.
  std::smatch dropped;
  const std::string& err = run.agent_err();
  ASSERT_TRUE(std::regex_search(err, dropped, std::regex(R"(dropped: (\d+) in the kernel)")))
      << err;
  EXPECT_GT(reported, 0) << err;
  EXPECT_EQ(reported + std::stol(dropped[1].str()), kCalls) << err;
}

// The control: the same leaf, the same probe, without the step over the red zone. If this fails,
// the kernel traps instead of calling the trampoline and the test above proves nothing here.
TEST(UsdtRedZone, UnprotectedControlIsClobberedWhenTraced) {
  PROFILIS_REQUIRE_ROOT();
  UsdtRun run;
  ASSERT_TRUE(run.start_fixture({USDT_REDZONE_UNPROTECTED_FIXTURE, std::to_string(kCalls)}));
  ASSERT_TRUE(run.start_agent({}));
  const ExitStatus fixture = run.finish();
  EXPECT_TRUE(fixture.exited() && fixture.code == 1) << fixture.describe() << run.fixture_err();
  EXPECT_GT(wrong_results(run.fixture_err()), 0) << run.fixture_err();
}

}  // namespace
}  // namespace profilis::e2e
