// `profilis-agent list (--pid PID | --binary PATH) [--filter GLOB] [--json]` (docs/design.md §4):
// what can be traced there. Needs no BPF: it only reads /proc and ELF files.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace profilis {

struct ListOptions {
  std::optional<pid_t> pid;
  std::optional<std::string> binary;
  std::string filter;  // empty: no filter
  bool json = false;
};

struct ListCliResult {
  ListOptions options;
  std::optional<std::string> print_and_exit;  // set for --help: print it to stdout and exit 0
};

// argv[0] is "list". Throws UsageError (exit 2) for a malformed option, and for neither or both of
// --pid and --binary.
ListCliResult parse_list_cli(int argc, const char* const* argv);

// Runs the subcommand (argv[0] is "list"), printing the listing on stdout and warnings on stderr.
// Returns the exit code; errors are thrown as AgentError, like everywhere else.
int run_list_command(int argc, const char* const* argv);

}  // namespace profilis
