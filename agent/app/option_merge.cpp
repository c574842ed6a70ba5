#include "agent/app/option_merge.h"

#include "agent/common/errors.h"
#include "profilis_records.h"

namespace profilis {
namespace {

// Some parsers shared with other code (parse_db_list, parse_usdt_spec) name their flag themselves;
// the label names it here, from the flag or the file, so their own name is dropped.
std::string without_flag_name(const std::string& message, std::string_view key) {
  const std::string flag = "--" + std::string(key);
  if (message.rfind(flag, 0) != 0) return message;
  std::size_t rest = flag.size();
  if (message.compare(rest, 1, ":") == 0) ++rest;
  if (message.compare(rest, 1, " ") == 0) ++rest;
  return message.substr(rest);
}

void apply(const OptionSpec& spec, const std::vector<std::string>& values, const std::string& label,
           Options& options) {
  for (const std::string& value : values) {
    try {
      spec.apply(options, value);
    } catch (const UsageError& e) {
      throw UsageError(label + ": " + without_flag_name(e.what(), spec.key));
    }
  }
}

}  // namespace

Options merge_options(const OptionValues& command_line, const OptionValues& file,
                      const std::string& file_name) {
  Options options;
  for (const OptionSpec& spec : option_table()) {
    if (const auto given = command_line.find(spec.key); given != command_line.end()) {
      apply(spec, given->second, "--" + std::string(spec.key), options);
    } else if (const auto in_file = file.find(spec.key); in_file != file.end()) {
      apply(spec, in_file->second, file_name + ": \"" + std::string(spec.key) + "\"", options);
    }
  }
  if (options.pids.empty() && options.binaries.empty() && !options.node) {
    throw UsageError(
        "nothing to trace: give --pid PID, --binary PATH or --node (or \"pid\", \"binary\" or "
        "\"node\" in a --config file; see --help)");
  }
  const bool by_file = options.node || !options.binaries.empty();
  if (!by_file && !(options.include_comms.empty() && options.exclude_comms.empty() &&
                    options.include_containers.empty())) {
    throw UsageError(
        "--include-comm, --exclude-comm and --include-container choose among the processes of "
        "--node or --binary; with --pid, name the processes themselves");
  }
  if (options.include_comms.size() > PROFILIS_MAX_COMM_GLOBS ||
      options.exclude_comms.size() > PROFILIS_MAX_COMM_GLOBS) {
    throw UsageError("at most " + std::to_string(PROFILIS_MAX_COMM_GLOBS) + " --include-comm and " +
                     std::to_string(PROFILIS_MAX_COMM_GLOBS) + " --exclude-comm globs");
  }
  if (options.node && options.pids.empty() && options.binaries.empty() &&
      !(options.fn_specs.empty() && options.usdt_specs.empty() &&
        options.python_fn_specs.empty())) {
    throw UsageError(
        "--fn, --usdt and --python-fn need --pid or --binary to say which file the function or "
        "probe is in; --node alone finds database libraries, profilis markers and PostgreSQL "
        "servers");
  }
  if (options.python_fn_specs.size() > PROFILIS_MAX_PYTHON_FNS) {
    throw UsageError("at most " + std::to_string(PROFILIS_MAX_PYTHON_FNS) + " --python-fn specs");
  }
  return options;
}

}  // namespace profilis
