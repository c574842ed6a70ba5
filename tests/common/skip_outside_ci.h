// A test that cannot run here (no root, a missing file or server, an old kernel) skips on a
// developer's machine but fails in CI (CI=true, set by .ci/run), where everything must run.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace profilis::test {

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

}  // namespace profilis::test

// Use in a test body: ends the test, as a skip outside CI and as a failure in CI.
#define PROFILIS_SKIP_OUTSIDE_CI(reason)                                                          \
  do {                                                                                            \
    const std::string profilis_why = (reason);                                                    \
    if (::profilis::test::in_ci()) FAIL() << profilis_why << " (CI=true: failing, not skipping)"; \
    GTEST_SKIP() << profilis_why << " (skipped outside CI; with CI=true this fails)";             \
  } while (0)
