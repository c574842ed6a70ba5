// The real `promtool check metrics` (Debian package prometheus) on a text exposition.
#pragma once

#include <string>

namespace profilis::testutil {

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // what promtool said: its lint complaints, or nothing
};

PromtoolResult promtool_check(const std::string& text);

}  // namespace profilis::testutil
