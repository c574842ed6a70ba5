#include "agent/app/option_table.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "agent/app/option_values.h"
#include "agent/common/errors.h"
#include "agent/targets/python_targets.h"
#include "agent/targets/usdt_targets.h"
#include "profilis_records.h"

namespace profilis {
namespace {

using std::chrono::ceil;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kMaxPid = static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max());
// No file grows past what off_t holds, so a larger size limit is a mistake, not "never".
constexpr auto kMaxFileBytes = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());

constexpr std::array kOptions = {
    OptionSpec{.key = "pid",
               .short_name = "p",
               .value_name = "PID",
               .arity = Arity::kRepeatable,
               .json_types = kJsonNumber,
               .help = "trace this process (repeatable)",
               .apply =
                   [](Options& o, const std::string& v) {
                     o.pids.push_back(static_cast<pid_t>(parse_count(v, 1, kMaxPid)));
                   }},
    OptionSpec{.key = "binary",
               .value_name = "PATH",
               .arity = Arity::kRepeatable,
               .json_types = kJsonString,
               .help = "trace every process that runs or maps this executable or library, now and "
                       "later: probes sit on the file (--fn, --usdt, its markers, its database "
                       "client functions), and a process started after the agent is traced from "
                       "its first call (repeatable)",
               .apply = [](Options& o, const std::string& v) { o.binaries.push_back(v); }},
    OptionSpec{.key = "node",
               .arity = Arity::kFlag,
               .json_types = kJsonBool,
               .flag_value = "true",
               .help = "trace the whole node: every database client library (libpq, "
                       "libmariadb/libmysqlclient, libsqlite3), file with profilis markers and "
                       "PostgreSQL server any process maps, in containers too, and every process "
                       "that starts later (from its exec); never the agent itself",
               .apply = [](Options& o, const std::string& v) { o.node = parse_bool(v); }},
    OptionSpec{
        .key = "include-comm",
        .value_name = "GLOB",
        .arity = Arity::kRepeatable,
        .json_types = kJsonString,
        .help = "with --node/--binary: trace only processes whose name (comm, at most 15 "
                "characters) matches one of these globs (*, ?; repeatable, at most 8)",
        .apply = [](Options& o,
                    const std::string& v) { o.include_comms.push_back(parse_comm_glob(v)); }},
    OptionSpec{
        .key = "exclude-comm",
        .value_name = "GLOB",
        .arity = Arity::kRepeatable,
        .json_types = kJsonString,
        .help = "with --node/--binary: do not trace processes whose name matches one of "
                "these globs (repeatable, at most 8)",
        .apply = [](Options& o,
                    const std::string& v) { o.exclude_comms.push_back(parse_comm_glob(v)); }},
    OptionSpec{.key = "include-container",
               .value_name = "GLOB",
               .arity = Arity::kRepeatable,
               .json_types = kJsonString,
               .help =
                   "with --node/--binary: trace only processes in a container whose id matches "
                   "one of these globs (repeatable); a new process is traced once the agent has "
                   "read its cgroup, a few milliseconds after its exec",
               .apply =
                   [](Options& o, const std::string& v) {
                     if (v.empty()) throw UsageError("an empty glob matches no container");
                     o.include_containers.push_back(v);
                   }},
    OptionSpec{
        .key = "fn",
        .value_name = "SPEC",
        .arity = Arity::kRepeatable,
        .json_types = kJsonString,
        .help = "function latency: [OBJECT:]PATTERN, OBJECT a path or a mapped library name "
                "(libc.so.6), default the main executable; PATTERN a name or glob (*, ?) matched "
                "against mangled and demangled names (repeatable)",
        .apply = [](Options& o, const std::string& v) { o.fn_specs.push_back(v); }},
    OptionSpec{
        .key = "fn-returns",
        .value_name = "MODE",
        .arity = Arity::kOne,
        .json_types = kJsonString,
        .default_text = "auto",
        .help =
            "how --fn sees a function return: auto (probes on its exit instructions where a C++ "
            "exception or a Go stack copy could pass a uretprobe, which neither survives: for "
            "functions that call other code in processes that run C++ (any, under --binary "
            "and --node), always in Go; uretprobes elsewhere, ~6x cheaper here), exits "
            "(always exit instructions), or uretprobes (always; refused for Go). --verbose "
            "says which way each function is probed",
        .apply =
            [](Options& o, const std::string& v) {
              o.fn_returns = *parse_return_choice(parse_choice(v, {"auto", "exits", "uretprobes"}));
            }},
    OptionSpec{.key = "aggregate",
               .arity = Arity::kFlag,
               .json_types = kJsonBool,
               .flag_value = "true",
               .help = "add --fn and --python-fn calls up in the kernel, per process and "
                       "function, into the Prometheus families' counts, sums and buckets (read at "
                       "each scrape), instead of one event per call: the cheapest way to time hot "
                       "functions. Right after an --fn or --python-fn it applies to that one only, "
                       "anywhere else to every one. Aggregated calls reach neither the JSONL files "
                       "nor the console nor --summary; needs --prometheus",
               .apply = [](Options& o, const std::string& v) { o.aggregate = parse_bool(v); }},
    OptionSpec{
        .key = "usdt",
        .value_name = "SPEC",
        .arity = Arity::kRepeatable,
        .json_types = kJsonString,
        .help = "a USDT probe: [OBJECT:]PROVIDER:NAME gives an FN event named PROVIDER:NAME per "
                "hit; [OBJECT:]PROVIDER:START,END pairs two probes per thread into FN events with "
                "a duration. OBJECT as for --fn. profilis:* markers are always traced (repeatable)",
        .apply =
            [](Options& o, const std::string& v) {
              parse_usdt_spec(v);  // malformed: fail before anything is attached
              o.usdt_specs.push_back(v);
            }},
    OptionSpec{
        .key = "python-fn",
        .value_name = "SPEC",
        .arity = Arity::kRepeatable,
        .json_types = kJsonString,
        .help = "Python functions of a CPython built with its USDT probes (Debian's python3.11): "
                "[FILE_GLOB:]FUNC_GLOB gives an FN event named file.py:function per call of a "
                "function whose name matches FUNC_GLOB and whose file's base name matches "
                "FILE_GLOB (*, ?; filtered in the kernel); each run of a generator or coroutine "
                "up to its yield or await is one call. Slows the whole interpreter: see README "
                "(repeatable, at most 8)",
        .apply =
            [](Options& o, const std::string& v) {
              parse_python_fn_spec(v);  // malformed: fail before anything is attached
              o.python_fn_specs.push_back(v);
            }},
    OptionSpec{
        .key = "db",
        .value_name = "LIST",
        .arity = Arity::kOne,
        .json_types = kJsonString,
        .default_text = "auto",
        .help = "database client libraries to trace: auto (every supported one the target maps), "
                "none, or a comma list of postgresql,mysql,sqlite",
        .apply = [](Options& o, const std::string& v) { o.db_vendors = parse_db_list(v); }},
    OptionSpec{.key = "sql-text",
               .value_name = "MODE",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .default_text = "redacted",
               .help = "SQL text in DB events: redacted (literals become ?), raw, or off",
               .apply =
                   [](Options& o, const std::string& v) {
                     const std::string mode = parse_choice(v, {"redacted", "raw", "off"});
                     o.sql_text = mode == "raw"   ? SqlTextMode::kRaw
                                  : mode == "off" ? SqlTextMode::kOff
                                                  : SqlTextMode::kRedacted;
                   }},
    OptionSpec{
        .key = "sql-max-bytes",
        .value_name = "N",
        .arity = Arity::kOne,
        .json_types = kJsonNumber,
        .default_text = "256",
        .help = "SQL text read per query in the kernel (16 to 1024); longer text is cut and marked "
                "with …",
        .apply =
            [](Options& o, const std::string& v) {
              o.sql_max_bytes = static_cast<std::uint32_t>(parse_count(v, 16, PROFILIS_SQL_MAX));
            }},
    OptionSpec{.key = "min-duration",
               .value_name = "DURATION",
               .arity = Arity::kOne,
               .json_types = kJsonString | kJsonNumber,
               .default_text = "0s",
               .help =
                   "drop calls shorter than this, in the kernel (500ns, 250us, 1ms, 2s; a unit is "
                   "required)",
               .apply =
                   [](Options& o, const std::string& v) {
                     o.min_duration_ns = static_cast<std::uint64_t>(parse_duration(v, {}).count());
                   }},
    OptionSpec{
        .key = "console",
        .arity = Arity::kFlag,
        .json_types = kJsonBool | kJsonString,
        .flag_value = "compact",
        .help = "print events to stdout, one JSON object per line (=compact, the default sink) or "
                "indented (=pretty)",
        .apply =
            [](Options& o, const std::string& v) {
              o.console = parse_choice(v, {"compact", "pretty"}) == "pretty" ? JsonStyle::kPretty
                                                                             : JsonStyle::kCompact;
            }},
    OptionSpec{
        .key = "summary",
        .arity = Arity::kFlag,
        .json_types = kJsonBool | kJsonString | kJsonNumber,
        .flag_value = "10s",
        .help = "print a table on stderr every SECONDS (=DURATION; default 10 s; 0: only at exit) "
                "and at exit: the top functions, requests and query shapes by total time, with "
                "count, mean, p50, p95, p99, max and errors, and the latency distribution of the "
                "top ones; fitted to the terminal, bold only there. A sink like the others: with "
                "it alone, no JSON goes to stdout",
        .apply =
            [](Options& o, const std::string& v) {
              if (v == "false") {
                o.summary.reset();
                return;
              }
              o.summary = v == "true" ? std::chrono::seconds(10)
                                      : ceil<seconds>(parse_duration(v, {.bare_unit = 1s}));
            }},
    OptionSpec{.key = "jsonl-dir",
               .value_name = "DIR",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .help = "write events as JSON lines into files in this directory",
               .apply = [](Options& o, const std::string& v) { o.jsonl_dir = v; }},
    OptionSpec{.key = "jsonl-prefix",
               .value_name = "PREFIX",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .default_text = "profilis",
               .help = "JSONL file name prefix",
               .apply = [](Options& o, const std::string& v) { o.jsonl_prefix = v; }},
    OptionSpec{.key = "jsonl-rotate-bytes",
               .value_name = "BYTES",
               .arity = Arity::kOne,
               .json_types = kJsonNumber,
               .default_text = "10000000",
               .help = "rotate the JSONL file before it grows past this many bytes (0: never)",
               .apply =
                   [](Options& o, const std::string& v) {
                     o.jsonl_rotate_bytes = parse_count(v, 0, kMaxFileBytes);
                   }},
    OptionSpec{.key = "jsonl-rotate-secs",
               .value_name = "DURATION",
               .arity = Arity::kOne,
               .json_types = kJsonString | kJsonNumber,
               .default_text = "300",
               .help =
                   "rotate the JSONL file once it is this old (a bare number is seconds; 0: never; "
                   "rounded up to whole seconds)",
               .apply =
                   [](Options& o, const std::string& v) {
                     const auto age = parse_duration(v, {.bare_unit = 1s});
                     o.jsonl_rotate_secs = static_cast<std::uint64_t>(ceil<seconds>(age).count());
                   }},
    OptionSpec{.key = "prometheus",
               .value_name = "ADDR",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .help =
                   "serve GET /metrics (and /healthz) at ADDR: 127.0.0.1:9464, or :9464 for every "
                   "interface",
               .apply = [](Options& o, const std::string& v) { o.prometheus = v; }},
    OptionSpec{.key = "prometheus-basic-auth-file",
               .value_name = "FILE",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .help = "ask for HTTP basic auth on /metrics (with --prometheus): FILE holds "
                       "user:password lines, the password plain or a bcrypt hash ($2y$..., as "
                       "htpasswd -B writes)",
               .apply = [](Options& o, const std::string& v) { o.prometheus_basic_auth_file = v; }},
    OptionSpec{.key = "service",
               .value_name = "NAME",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .help = "service label (default: the target's comm)",
               .apply = [](Options& o, const std::string& v) { o.service = v; }},
    OptionSpec{.key = "instance",
               .value_name = "NAME",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .help = "instance label (default: the host name)",
               .apply = [](Options& o, const std::string& v) { o.instance = v; }},
    OptionSpec{.key = "worker",
               .value_name = "NAME",
               .arity = Arity::kOne,
               .json_types = kJsonString,
               .help = "worker label (default: the traced process's pid)",
               .apply = [](Options& o, const std::string& v) { o.worker = v; }},
    OptionSpec{
        .key = "metric-labels",
        .value_name = "LIST",
        .arity = Arity::kOne,
        .json_types = kJsonString,
        .help = "add these event fields to the labels of the request, function and DB metrics: a "
                "comma list of container_id, k8s_namespace, k8s_pod, k8s_container (empty when "
                "unknown). Each multiplies the series by its values (pods come and go: "
                "container_id and k8s_pod grow without end on a busy node); the limit of 10000 "
                "series per metric still holds. No pid: worker is the pid unless --worker is given",
        .apply = [](Options& o,
                    const std::string& v) { o.metric_labels = parse_metric_labels(v); }},
    OptionSpec{
        .key = "ring-buffer-size",
        .value_name = "SIZE",
        .arity = Arity::kOne,
        .json_types = kJsonString | kJsonNumber,
        .default_text = "8M",
        .help = "kernel ring buffer between the probes and the agent: bytes or 4K/16M/1G, a "
                "power of two, at least one page, at most 1G. Records wait there while the sinks "
                "are behind; only when it is full are events dropped (counted, stage kernel)",
        .apply = [](Options& o,
                    const std::string& v) { o.ring_buffer_bytes = parse_ring_buffer_size(v); }},
    OptionSpec{
        .key = "queue-size",
        .value_name = "N",
        .arity = Arity::kOne,
        .json_types = kJsonNumber,
        .default_text = "8192",
        .help = "events each sink's queue holds (1 to 16777216); when a queue is full the agent "
                "leaves records in the ring buffer until the sink catches up (nothing is dropped "
                "here)",
        .apply =
            [](Options& o, const std::string& v) {
              o.queue_size = parse_count(v, 1, std::uint64_t{1} << 24);
            }},
    OptionSpec{.key = "batch-max",
               .value_name = "N",
               .arity = Arity::kOne,
               .json_types = kJsonNumber,
               .default_text = "256",
               .help = "largest batch handed to a sink at once (1 to 1048576)",
               .apply =
                   [](Options& o, const std::string& v) {
                     o.batch_max = parse_count(v, 1, std::uint64_t{1} << 20);
                   }},
    OptionSpec{
        .key = "flush-interval",
        .value_name = "DURATION",
        .arity = Arity::kOne,
        .json_types = kJsonString | kJsonNumber,
        .default_text = "500",
        .help = "longest wait before queued events reach the sinks (1ms to 1h; a bare number is "
                "milliseconds)",
        .apply =
            [](Options& o, const std::string& v) {
              o.flush_interval =
                  ceil<milliseconds>(parse_duration(v, {.bare_unit = 1ms, .min = 1ms, .max = 1h}));
            }},
    OptionSpec{
        .key = "sink-timeout",
        .value_name = "DURATION",
        .arity = Arity::kOne,
        .json_types = kJsonString | kJsonNumber,
        .default_text = "1000",
        .help = "a sink whose queue stays full this long without it taking an event (a console "
                "nobody reads) is left behind when there are other sinks: its copies are dropped "
                "and counted (stage = the sink) until it takes events again, and the other sinks "
                "go on (10ms to 1h; a bare number is milliseconds)",
        .apply =
            [](Options& o, const std::string& v) {
              o.sink_timeout =
                  ceil<milliseconds>(parse_duration(v, {.bare_unit = 1ms, .min = 10ms, .max = 1h}));
            }},
    OptionSpec{
        .key = "duration",
        .value_name = "DURATION",
        .arity = Arity::kOne,
        .json_types = kJsonString | kJsonNumber,
        .help = "stop after this long (10s, 1.5m, 2h; a bare number is seconds; rounded up to "
                "whole milliseconds)",
        .apply =
            [](Options& o, const std::string& v) {
              o.duration = ceil<milliseconds>(parse_duration(v, {.bare_unit = 1s, .min = 1ns}));
            }},
    OptionSpec{.key = "verbose",
               .short_name = "v",
               .arity = Arity::kFlag,
               .json_types = kJsonBool,
               .flag_value = "true",
               .help = "say what is attached where, and libbpf's messages",
               .apply = [](Options& o, const std::string& v) { o.verbose = parse_bool(v); }},
};

}  // namespace

std::span<const OptionSpec> option_table() { return kOptions; }

const OptionSpec* find_option(std::string_view key) {
  const auto it = std::find_if(kOptions.begin(), kOptions.end(),
                               [&](const OptionSpec& spec) { return spec.key == key; });
  return it == kOptions.end() ? nullptr : &*it;
}

}  // namespace profilis
