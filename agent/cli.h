// The command line of DESIGN §4, as far as this version implements it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/db_targets.h"
#include "exporters/json_event.h"

namespace profilis {

struct Options {
  std::vector<pid_t> pids;
  std::vector<std::string> fn_specs;
  std::vector<std::string> usdt_specs;  // checked by parse_usdt_spec, resolved per target later
  std::vector<DbVendor> db_vendors = {DbVendor::kPostgresql, DbVendor::kMysql, DbVendor::kSqlite};
  SqlTextMode sql_text = SqlTextMode::kRedacted;
  std::uint32_t sql_max_bytes = 256;
  std::uint64_t min_duration_ns = 0;
  std::optional<JsonStyle> console;  // set when --console is given
  std::optional<std::string> jsonl_dir;
  std::string jsonl_prefix = "profilis";
  std::uint64_t jsonl_rotate_bytes = 10'000'000;  // 0: never by size
  std::uint64_t jsonl_rotate_secs = 300;          // 0: never by age
  std::optional<std::string> prometheus;          // listen address for GET /metrics
  std::string instance;                           // empty: the host name
  std::string worker;                             // empty: each event's pid
  std::string service;                            // empty: each target's comm
  std::size_t queue_size = 2048;
  std::size_t batch_max = 256;
  std::chrono::milliseconds flush_interval{500};
  std::optional<std::chrono::milliseconds> duration;
  bool verbose = false;
};

struct CliResult {
  Options options;
  // Set for --help and --version: print it to stdout and exit 0.
  std::optional<std::string> print_and_exit;
};

// Throws UsageError (exit 2) with CLI11's message for an unknown or malformed option.
CliResult parse_cli(int argc, const char* const* argv);

// "250us", "1ms", "1.5s", "500ns", "2m" → nanoseconds. Throws UsageError for anything else.
std::uint64_t parse_duration_ns(std::string_view text);

}  // namespace profilis
