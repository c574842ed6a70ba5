// For the tests of the command line and the config file: what a bad value must produce.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "agent/common/errors.h"

namespace profilis {

// Runs `f`, expects a UsageError with the usage exit code, and returns its message.
template <typename F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than UsageError: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

}  // namespace profilis
