// The command line of docs/design.md §4, as far as this version implements it. The options are
// listed, checked and documented in option_table.cpp; this is where CLI11 reads them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/common/db_types.h"
#include "agent/targets/return_probes.h"
#include "exporters/common/json_event.h"
#include "exporters/prometheus/metric_labels.h"

namespace profilis {

struct Options {
  std::vector<pid_t> pids;
  std::vector<std::string> binaries;       // --binary: files probed for every process
  bool node = false;                       // --node: every supported file on the node
  std::vector<std::string> include_comms;  // globs, applied in the kernel at exec
  std::vector<std::string> exclude_comms;
  std::vector<std::string> include_containers;  // globs on container ids
  std::vector<std::string> fn_specs;
  ReturnChoice fn_returns = ReturnChoice::automatic;
  bool aggregate = false;                        // --aggregate for every --fn and --python-fn
  std::vector<std::size_t> aggregated_fn_specs;  // indexes into fn_specs: --aggregate right after
  std::vector<std::size_t> aggregated_python_fn_specs;  // the same into python_fn_specs
  std::vector<std::string> usdt_specs;  // checked by parse_usdt_spec, resolved per target later
  std::vector<std::string> python_fn_specs;  // checked by parse_python_fn_spec
  std::vector<DbVendor> db_vendors = {DbVendor::kPostgresql, DbVendor::kMysql, DbVendor::kSqlite};
  SqlTextMode sql_text = SqlTextMode::kRedacted;
  std::uint32_t sql_max_bytes = 256;
  std::uint64_t min_duration_ns = 0;
  std::optional<JsonStyle> console;             // set when --console is given
  std::optional<std::chrono::seconds> summary;  // --summary: its interval (0: at exit only)
  std::optional<std::string> jsonl_dir;
  std::string jsonl_prefix = "profilis";
  std::uint64_t jsonl_rotate_bytes = 10'000'000;  // 0: never by size
  std::uint64_t jsonl_rotate_secs = 300;          // 0: never by age
  std::optional<std::string> prometheus;          // listen address for GET /metrics
  std::string instance;                           // empty: the host name
  std::string worker;                             // empty: each event's pid
  std::string service;                            // empty: each target's comm
  std::vector<MetricLabel> metric_labels;         // added to the event families' labels
  std::uint32_t ring_buffer_bytes = 8u << 20;
  std::size_t queue_size = 8192;  // per sink
  std::size_t batch_max = 256;
  std::chrono::milliseconds flush_interval{500};
  std::chrono::milliseconds sink_timeout{1000};
  std::optional<std::chrono::milliseconds> duration;
  bool verbose = false;
  std::optional<std::string> prometheus_basic_auth_file;  // users who may scrape /metrics

  bool operator==(const Options&) const = default;
};

struct CliResult {
  Options options;
  // Set for --help and --version: print it to stdout and exit 0.
  std::optional<std::string> print_and_exit;
};

// The tracing command line, with the --config file it names merged in (see merge_options). Throws
// UsageError (exit 2) for an unknown or malformed option, an unreadable or malformed config file,
// and any value its option refuses.
CliResult parse_cli(int argc, const char* const* argv);

// Every name of every option --help lists ("-p", "--pid", …, "--help"), taken from the parser
// itself, for the tests that check that each is documented.
std::vector<std::string> cli_option_names();

}  // namespace profilis
