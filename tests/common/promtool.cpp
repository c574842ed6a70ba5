#include "tests/common/promtool.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace profilis::testutil {

PromtoolResult promtool_check(const std::string& text) {
  char out_path[] = "/tmp/profilis-promtool.XXXXXX";
  const int fd = ::mkstemp(out_path);
  if (fd < 0) return {};
  ::close(fd);
  const std::string command = "/usr/bin/promtool check metrics >" + std::string(out_path) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "w");
  if (pipe == nullptr) return {};
  std::fwrite(text.data(), 1, text.size(), pipe);
  const int status = ::pclose(pipe);
  std::stringstream output;
  output << std::ifstream(out_path).rdbuf();
  ::unlink(out_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output.str()};
}

}  // namespace profilis::testutil
