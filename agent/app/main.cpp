#include <cstdio>
#include <exception>
#include <string_view>

#include "agent/app/agent.h"
#include "agent/app/cli.h"
#include "agent/common/errors.h"
#include "agent/list/list_command.h"

int main(int argc, char** argv) {
  using profilis::ExitCode;
  try {
    // A subcommand, with options of its own: dispatched before the tracing command line is parsed.
    if (argc > 1 && std::string_view(argv[1]) == "list") {
      return profilis::run_list_command(argc - 1, argv + 1);
    }
    const auto cli = profilis::parse_cli(argc, argv);
    if (cli.print_and_exit) {
      std::fputs(cli.print_and_exit->c_str(), stdout);
      return 0;
    }
    profilis::run_agent(cli.options);
    return static_cast<int>(ExitCode::kOk);
  } catch (const profilis::AgentError& e) {
    std::fprintf(stderr, "profilis-agent: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "profilis-agent: error: %s\n", e.what());
    return static_cast<int>(ExitCode::kRuntime);
  }
}
