#include "agent/targets/python_targets.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "agent/common/errors.h"
#include "tests/common/skip_outside_ci.h"

namespace profilis {
namespace {

TEST(ParsePythonFnSpec, shouldTakeAFunctionGlobAlone) {
  const auto spec = parse_python_fn_spec("handle_*");
  EXPECT_EQ(spec.file_glob, "");
  EXPECT_EQ(spec.function_glob, "handle_*");
}

TEST(ParsePythonFnSpec, shouldSplitTheFileGlobAtTheLastColon) {
  const auto spec = parse_python_fn_spec("app*.py:do_GET");
  EXPECT_EQ(spec.file_glob, "app*.py");
  EXPECT_EQ(spec.function_glob, "do_GET");
  EXPECT_EQ(parse_python_fn_spec("a:b.py:<module>").file_glob, "a:b.py");
}

TEST(ParsePythonFnSpec, shouldTakeSixtyThreeCharactersOnceStarsAreCollapsed) {
  EXPECT_NO_THROW(parse_python_fn_spec(std::string(63, 'f')));
  EXPECT_NO_THROW(parse_python_fn_spec(std::string(62, 'f') + "****"));
  EXPECT_THROW(parse_python_fn_spec(std::string(64, 'f')), UsageError);
  EXPECT_THROW(parse_python_fn_spec(std::string(64, 'x') + ":f"), UsageError);
}

TEST(ParsePythonFnSpec, shouldRefuseEmptyGlobsAndBrackets) {
  for (const char* bad : {"", ":", "x.py:", ":f", "f[ab]", "x\\y:f"}) {
    try {
      parse_python_fn_spec(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--python-fn '", 0), 0u) << e.what();
      EXPECT_EQ(e.code(), ExitCode::kUsage);
    }
  }
}

// Debian's python3.11 (when installed): both probes by register, python:line's semaphore, and the
// start of .init to raise it from.
TEST(ResolvePythonProbes, shouldFindDebiansPython311ProbesInRegisters) {
  const std::string python = "/usr/bin/python3.11";
  if (::access(python.c_str(), R_OK) != 0) PROFILIS_SKIP_OUTSIDE_CI("no " + python);
  const PythonProbes probes = resolve_python_probes(file_target(python, python));
  EXPECT_EQ(probes.pid, -1);
  EXPECT_TRUE(probes.register_arguments);
  EXPECT_FALSE(probes.entry_sites.offsets.empty());
  EXPECT_EQ(probes.entry_sites.offsets.size(), probes.entry_sites.semaphores.size());
  EXPECT_FALSE(probes.return_sites.offsets.empty());
  EXPECT_NE(probes.entry_sites.semaphores.front(), 0u);
  EXPECT_NE(probes.line_semaphore, 0u);
  EXPECT_NE(probes.enable_offset, 0u);
  EXPECT_NE(probes.enable_offset, probes.entry_sites.offsets.front());
}

TEST(ResolvePythonProbes, shouldSayAnElfWithoutTheProbesWasBuiltWithoutDtrace) {
  try {
    resolve_python_probes(file_target("/bin/true", "/bin/true"));
    ADD_FAILURE() << "/bin/true has no Python probes";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/bin/true has no python:function__entry"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("built without --with-dtrace"), std::string::npos);
  }
}

}  // namespace
}  // namespace profilis
