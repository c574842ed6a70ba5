#include "agent/targets/python_targets.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/common/errors.h"

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

}  // namespace
}  // namespace profilis
