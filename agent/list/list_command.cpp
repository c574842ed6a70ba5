#include "agent/list/list_command.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <sstream>

#include "agent/common/errors.h"
#include "agent/list/list_collect.h"
#include "agent/list/list_render.h"

namespace profilis {
namespace {

constexpr const char* kUsage =
    "usage: profilis-agent list (--pid PID | --binary PATH) [--filter GLOB] [--json]";

constexpr const char* kDescription =
    "profilis-agent list: print what can be traced in a running process or an ELF file, without "
    "tracing anything (no BPF, no privileges beyond reading the files).\n"
    "  functions: every function symbol (.symtab and .dynsym; C++ names demangled), with the file "
    "it is in; aliases of one address once. For --pid the executable and every ELF file the "
    "process maps, read through /proc/PID, as the process sees them.\n"
    "  USDT probes: provider:name, the argument spec of the first site, whether a semaphore guards "
    "it, and the number of sites.\n"
    "  database client libraries (libpq: postgresql, libmariadb/libmysqlclient: mysql, libsqlite3: "
    "sqlite): for --pid those it maps, or whose API its executable defines; for --binary those it "
    "links (DT_NEEDED), is, or defines. The FOUND column says which: mapped, needed, itself, "
    "static.\n"
    "The tables fit 100 columns: long names are cut with …, objects shown by file name; --json "
    "gives everything whole.\n"
    "Exit codes: 0 listed, 1 runtime failure, 2 bad usage or input (no such process, no such file, "
    "not an ELF file).";

void write_stdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    throw RuntimeError(errno_message("cannot write the listing to stdout", errno));
  }
}

}  // namespace

ListCliResult parse_list_cli(int argc, const char* const* argv) {
  ListCliResult result;
  ListOptions& o = result.options;
  CLI::App app{std::string(kUsage) + "\n\n" + kDescription, "profilis-agent list"};
  app.add_option("-p,--pid", o.pid, "list the process with this pid")
      ->type_name("PID")
      ->check(CLI::Range(1, std::numeric_limits<pid_t>::max()));
  app.add_option("--binary", o.binary, "list this ELF file (an executable or a shared library)")
      ->type_name("PATH");
  app.add_option("--filter", o.filter,
                 "only functions whose mangled or demangled name matches this glob (*, ?), as "
                 "--fn matches, and USDT probes whose provider:name matches it; database "
                 "libraries are always listed")
      ->type_name("GLOB");
  app.add_flag("--json", o.json,
               "one JSON object: {\"functions\":[{name,mangled,object,address,size}], "
               "\"usdt\":[{object,provider,name,arguments,semaphore,sites}], "
               "\"db_libraries\":[{vendor,object,found}]}");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    std::ostringstream text;
    app.exit(e, text, text);
    result.print_and_exit = text.str();
    return result;
  } catch (const CLI::ParseError& e) {
    throw UsageError("list: " + std::string(e.what()) + "\n" + kUsage);
  }
  if (o.pid.has_value() == o.binary.has_value()) {
    throw UsageError("list: give exactly one of --pid PID and --binary PATH\n" +
                     std::string(kUsage));
  }
  return result;
}

int run_list_command(int argc, const char* const* argv) {
  const ListCliResult cli = parse_list_cli(argc, argv);
  if (cli.print_and_exit) {
    write_stdout(*cli.print_and_exit);
    return static_cast<int>(ExitCode::kOk);
  }
  const ListOptions& o = cli.options;
  const Listing listing =
      o.pid ? collect_process(*o.pid, o.filter) : collect_binary(*o.binary, o.filter);
  for (const std::string& reason : listing.skipped) {
    std::fprintf(stderr, "profilis-agent: warning: skipped %s\n", reason.c_str());
  }
  write_stdout(o.json ? render_listing_json(listing) : render_listing_text(listing));
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace profilis
