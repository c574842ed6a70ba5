#include "agent/app/cli.h"

#include <CLI/CLI.hpp>
#include <sstream>

#include "agent/app/config_file.h"
#include "agent/app/option_merge.h"
#include "agent/app/option_table.h"
#include "agent/common/errors.h"

namespace profilis {
namespace {

constexpr const char* kDescription =
    "profilis-agent: eBPF latency profiler. Attaches uprobes and USDT probes to running processes "
    "and reports one event per call, query or request to the console, JSONL files and Prometheus "
    "metrics. In every target it traces the profilis:* markers (include/profilis/usdt.h) it finds "
    "and the database client libraries it maps (--db), plus what --fn and --usdt name.\n"
    "Traces until SIGINT/SIGTERM, --duration, or until every traced process has exited.\n"
    "A DURATION is a number and a unit: ns, us, ms, s, m or h (250us, 1.5s, 2m); a bare number is "
    "in the unit the option says.\n"
    "What can be traced: profilis-agent list (--pid PID | --binary PATH) [--filter GLOB] [--json] "
    "(see profilis-agent list --help).\n"
    "Exit codes: 0 done, 1 runtime failure, 2 bad usage or input, 3 missing privileges or kernel "
    "support.";

constexpr const char* kConfigHelp =
    "read options from this JSON object, keyed by the long options: {\"pid\": [42], \"fn\": "
    "[\"api::*\"], \"jsonl-dir\": \"/var/log/profilis\", \"console\": true}. An option given on "
    "the command line replaces the file's value (a repeated one, the file's whole list)";

// CLI11 fills one text slot per option; the option table's apply turns it into a value later, for
// the command line and the config file alike. CLI11 converts nothing: its conversions took 0x10 and
// wrapped -1 into unsigned options. The app holds pointers into the slots: never copied or moved.
struct CommandLine {
  CLI::App app{kDescription, "profilis-agent"};
  std::vector<std::string> one;
  std::vector<std::vector<std::string>> many;
  std::vector<CLI::Option*> options;
  std::string config;
  CLI::Option* config_option = nullptr;

  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  CommandLine() : one(option_table().size()), many(option_table().size()) {
    app.set_version_flag("--version", std::string("profilis-agent ") + PROFILIS_VERSION);
    for (std::size_t i = 0; i < option_table().size(); ++i) options.push_back(add(i));
    config_option = app.add_option("--config", config, kConfigHelp)->type_name("FILE");
  }

  CLI::Option* add(std::size_t i) {
    const OptionSpec& spec = option_table()[i];
    std::string names = "--" + std::string(spec.key);
    if (!spec.short_name.empty()) names = "-" + std::string(spec.short_name) + "," + names;
    const std::string help(spec.help);
    CLI::Option* option = nullptr;
    switch (spec.arity) {
      case Arity::kOne:
        option = app.add_option(names, one[i], help);
        break;
      case Arity::kRepeatable:
        // One value per occurrence, taken as written: CLI11 would otherwise split "[a,b]" into
        // a list and pass "[a]" on as "a".
        option = app.add_option(names, many[i], help)
                     ->expected(1)
                     ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                     ->allow_extra_args(false);
        break;
      case Arity::kFlag:  // CLI11 writes "true" for a bare flag unless told otherwise
        if (spec.flag_value != "true") names += "{" + std::string(spec.flag_value) + "}";
        option = app.add_flag(names, one[i], help);
        break;
    }
    if (!spec.value_name.empty()) option->type_name(std::string(spec.value_name));
    if (!spec.default_text.empty()) option->default_str(std::string(spec.default_text));
    return option;
  }

  CLI::Option* option(std::string_view key) const {
    for (std::size_t i = 0; i < options.size(); ++i) {
      if (option_table()[i].key == key) return options[i];
    }
    return nullptr;
  }

  // --aggregate right after an --fn or --python-fn applies to that one, anywhere else to every
  // one: the order of the command line, which CLI11 keeps.
  void apply_aggregate_order(Options& out) const {
    const CLI::Option* aggregate = option("aggregate");
    if (aggregate->count() == 0) return;
    const CLI::Option* fn = option("fn");
    const CLI::Option* python_fn = option("python-fn");
    bool global = false;
    std::size_t fns = 0, python_fns = 0;
    const CLI::Option* previous = nullptr;
    for (const CLI::Option* current : app.parse_order()) {
      if (current == aggregate) {
        if (previous == fn) {
          out.aggregated_fn_specs.push_back(fns - 1);
        } else if (previous == python_fn) {
          out.aggregated_python_fn_specs.push_back(python_fns - 1);
        } else {
          global = true;
        }
      }
      if (current == fn) ++fns;
      if (current == python_fn) ++python_fns;
      previous = current;
    }
    out.aggregate = global;
  }

  OptionValues given() const {
    OptionValues values;
    for (std::size_t i = 0; i < options.size(); ++i) {
      if (options[i]->count() == 0) continue;
      const OptionSpec& spec = option_table()[i];
      values[std::string(spec.key)] =
          spec.arity == Arity::kRepeatable ? many[i] : std::vector<std::string>{one[i]};
    }
    return values;
  }
};

}  // namespace

CliResult parse_cli(int argc, const char* const* argv) {
  CommandLine cli;
  CliResult result;
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    std::ostringstream text;
    cli.app.exit(e, text, text);
    result.print_and_exit = text.str();
    return result;
  } catch (const CLI::ParseError& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  const bool has_config = cli.config_option->count() > 0;
  const OptionValues file = has_config ? read_config_file(cli.config) : OptionValues{};
  result.options = merge_options(cli.given(), file, cli.config);
  cli.apply_aggregate_order(result.options);
  if ((result.options.aggregate || !result.options.aggregated_fn_specs.empty() ||
       !result.options.aggregated_python_fn_specs.empty()) &&
      !result.options.prometheus) {
    throw UsageError(
        "--aggregate needs --prometheus: the added-up calls are served only as its metrics");
  }
  if (result.options.aggregate && result.options.fn_specs.empty() &&
      result.options.python_fn_specs.empty()) {
    throw UsageError(
        "--aggregate adds up the calls of --fn and --python-fn functions, and none is given");
  }
  return result;
}

std::vector<std::string> cli_option_names() {
  const CommandLine cli;
  std::vector<std::string> names;
  for (const CLI::Option* option : cli.app.get_options()) {
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  }
  return names;
}

}  // namespace profilis
