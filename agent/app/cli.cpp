#include "agent/app/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "agent/common/errors.h"
#include "agent/targets/usdt_targets.h"
#include "profilis_records.h"

namespace profilis {
namespace {

constexpr const char* kDescription =
    "profilis-agent: eBPF latency profiler. Attaches uprobes and USDT probes to running processes "
    "and reports one event per call, query or request to the console, JSONL files and Prometheus "
    "metrics. In every target it traces the profilis:* markers (include/profilis/usdt.h) it finds "
    "and the database client libraries it maps (--db), plus what --fn and --usdt name.\n"
    "Traces until SIGINT/SIGTERM, --duration, or until every traced process has exited.\n"
    "What can be traced: profilis-agent list (--pid PID | --binary PATH) [--filter GLOB] [--json] "
    "(see profilis-agent list --help).\n"
    "Exit codes: 0 done, 1 runtime failure, 2 bad usage or input, 3 missing privileges or kernel "
    "support.";

struct RawOptions {  // options parsed further after CLI11 is done
  std::string min_duration, duration, console, db = "auto", sql_text = "redacted";
  std::string ring_buffer_size = "8M";
};

void add_options(CLI::App& app, Options& o, RawOptions& raw) {
  app.add_option("-p,--pid", o.pids, "trace this process (repeatable)")
      ->check(CLI::Range(1, std::numeric_limits<pid_t>::max()));
  app.add_option("--fn", o.fn_specs,
                 "function latency: [OBJECT:]PATTERN, OBJECT a path or a mapped library name "
                 "(libc.so.6), default the main executable; PATTERN a name or glob (*, ?) matched "
                 "against mangled and demangled names (repeatable)");
  app.add_option(
      "--usdt", o.usdt_specs,
      "a USDT probe: [OBJECT:]PROVIDER:NAME gives an FN event named PROVIDER:NAME per "
      "hit; [OBJECT:]PROVIDER:START,END pairs two probes per thread into FN events with "
      "a duration. OBJECT as for --fn. profilis:* markers are always traced (repeatable)");
  app.add_option("--db", raw.db,
                 "database client libraries to trace: auto (every supported one the target maps), "
                 "none, or a comma list of postgresql,mysql,sqlite")
      ->capture_default_str();
  app.add_option("--sql-text", raw.sql_text,
                 "SQL text in DB events: redacted (literals become ?), raw, or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"redacted", "raw", "off"}));
  app.add_option("--sql-max-bytes", o.sql_max_bytes,
                 "SQL text read per query in the kernel; longer text is cut and marked with …")
      ->capture_default_str()
      ->check(CLI::Range(16, PROFILIS_SQL_MAX));
  app.add_option("--min-duration", raw.min_duration,
                 "drop calls shorter than this, in the kernel (500ns, 250us, 1ms, 2s)");
  app.add_flag("--console{compact}", raw.console,
               "print events to stdout, one JSON object per line (=compact, the default sink) or "
               "indented (=pretty)")
      ->check(CLI::IsMember({"compact", "pretty"}));
  app.add_option("--jsonl-dir", o.jsonl_dir,
                 "write events as JSON lines into files in this directory");
  app.add_option("--jsonl-prefix", o.jsonl_prefix, "JSONL file name prefix")->capture_default_str();
  app.add_option("--jsonl-rotate-bytes", o.jsonl_rotate_bytes,
                 "rotate the JSONL file before it grows past this many bytes (0: never)")
      ->capture_default_str();
  app.add_option("--jsonl-rotate-secs", o.jsonl_rotate_secs,
                 "rotate the JSONL file once it is this many seconds old (0: never)")
      ->capture_default_str();
  app.add_option("--prometheus", o.prometheus,
                 "serve GET /metrics (and /healthz) at ADDR: 127.0.0.1:9464, or :9464 for every "
                 "interface");
  app.add_option("--service", o.service, "service label (default: the target's comm)");
  app.add_option("--instance", o.instance, "instance label (default: the host name)");
  app.add_option("--worker", o.worker, "worker label (default: the traced process's pid)");
  app.add_option("--ring-buffer-size", raw.ring_buffer_size,
                 "kernel ring buffer between the probes and the agent: bytes or 4K/16M/1G, a "
                 "power of two, at least one page, at most 1G. Records wait there while the sinks "
                 "are behind; only when it is full are events dropped (counted, stage kernel)")
      ->capture_default_str();
  app.add_option("--queue-size", o.queue_size,
                 "events each sink's queue holds; when a queue is full the agent leaves records "
                 "in the ring buffer until the sink catches up (nothing is dropped here)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  app.add_option("--batch-max", o.batch_max, "largest batch handed to a sink at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  app.add_option("--duration", raw.duration, "stop after this many seconds (fractions allowed)");
  app.add_flag("-v,--verbose", o.verbose, "say what is attached where, and libbpf's messages");
}

// Whole milliseconds, rounded up so that a tiny positive value still runs. Bounded well inside what
// std::chrono::milliseconds holds: NaN, infinities and absurd values are refused, not wrapped.
std::chrono::milliseconds parse_seconds(const std::string& text) {
  constexpr double kMaxSeconds = 100.0 * 365 * 24 * 3600;
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || !(seconds > 0) ||
      seconds > kMaxSeconds) {
    throw UsageError(
        "--duration: expected a positive number of seconds (at most 100 years), got '" + text +
        "'");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

}  // namespace

std::uint64_t parse_duration_ns(std::string_view text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [unit_start, ec] = std::from_chars(begin, end, value);
  const std::string_view unit(unit_start, static_cast<std::size_t>(end - unit_start));
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m")
    scale = 60e9;
  if (ec != std::errc() || scale == 0 || value < 0 || !std::isfinite(value) ||
      value * scale > 1e18) {
    throw UsageError("invalid duration '" + std::string(text) +
                     "': expected a number and a unit: ns, us, ms, s or m (e.g. 250us)");
  }
  return static_cast<std::uint64_t>(std::llround(value * scale));
}

std::uint32_t parse_ring_buffer_size(std::string_view text) {
  const auto fail = [&](const std::string& why) {
    return UsageError("--ring-buffer-size: '" + std::string(text) + "': " + why);
  };
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [unit_start, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) throw fail("too large (at most 1G)");
  if (ec != std::errc() || unit_start == text.data()) {
    throw fail("expected bytes or a number with K, M or G (16M)");
  }
  std::string unit(unit_start, end);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  unsigned shift = 0;
  if (!unit.empty() && unit != "B") {
    const char prefix = unit[0];
    shift = prefix == 'K' ? 10 : prefix == 'M' ? 20 : prefix == 'G' ? 30 : 0;
    const std::string rest = unit.substr(1);
    if (shift == 0 || !(rest.empty() || rest == "B" || rest == "IB")) {
      throw fail("unknown unit '" + std::string(unit_start, end) + "' (use K, M or G)");
    }
  }
  constexpr std::uint64_t kMax = 1ull << 30;
  if (value > (kMax >> shift)) throw fail("too large (at most 1G)");
  value <<= shift;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  if (value < page || (value & (value - 1)) != 0) {
    throw fail("must be a power of two and at least one page (" + std::to_string(page) + " bytes)");
  }
  return static_cast<std::uint32_t>(value);
}

CliResult parse_cli(int argc, const char* const* argv) {
  CliResult result;
  Options& o = result.options;
  CLI::App app{kDescription, "profilis-agent"};
  app.set_version_flag("--version", std::string("profilis-agent ") + PROFILIS_VERSION);
  RawOptions raw;
  std::chrono::milliseconds::rep flush_ms = o.flush_interval.count();
  std::chrono::milliseconds::rep sink_timeout_ms = o.sink_timeout.count();
  add_options(app, o, raw);
  app.add_option("--flush-interval", flush_ms,
                 "longest wait before queued events reach the sinks, ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));
  app.add_option("--sink-timeout", sink_timeout_ms,
                 "a sink whose queue stays full this long, ms, without it taking an event (a "
                 "console nobody reads) is left behind when there are other sinks: its copies are "
                 "dropped and counted (stage = the sink) until it takes events again, and the "
                 "other sinks go on")
      ->capture_default_str()
      ->check(CLI::Range(10, 3'600'000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    std::ostringstream text;
    app.exit(e, text, text);
    result.print_and_exit = text.str();
    return result;
  } catch (const CLI::ParseError& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  if (o.pids.empty()) throw UsageError("nothing to trace: give --pid PID (see --help)");
  o.db_vendors = parse_db_list(raw.db);
  for (const auto& spec : o.usdt_specs) parse_usdt_spec(spec);  // malformed: fail before anything
  o.sql_text = raw.sql_text == "raw"   ? SqlTextMode::kRaw
               : raw.sql_text == "off" ? SqlTextMode::kOff
                                       : SqlTextMode::kRedacted;
  if (!raw.min_duration.empty()) o.min_duration_ns = parse_duration_ns(raw.min_duration);
  if (!raw.console.empty()) {
    o.console = raw.console == "pretty" ? JsonStyle::kPretty : JsonStyle::kCompact;
  }
  if (!raw.duration.empty()) o.duration = parse_seconds(raw.duration);
  o.flush_interval = std::chrono::milliseconds(flush_ms);
  o.sink_timeout = std::chrono::milliseconds(sink_timeout_ms);
  o.ring_buffer_bytes = parse_ring_buffer_size(raw.ring_buffer_size);
  return result;
}

}  // namespace profilis
