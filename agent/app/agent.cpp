#include "agent/app/agent.h"

#include <bpf/libbpf.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "agent/app/aggregate_metrics.h"
#include "agent/app/file_tracing.h"
#include "agent/app/health_metrics.h"
#include "agent/app/privileges.h"
#include "agent/common/errors.h"
#include "agent/common/wall_clock.h"
#include "agent/inspect/kubelet_logs.h"
#include "agent/inspect/marker_strings.h"
#include "agent/inspect/usdt_notes.h"
#include "agent/pipeline/collector.h"
#include "agent/pipeline/event_loop.h"
#include "agent/pipeline/process_labeler.h"
#include "agent/pipeline/process_notices.h"
#include "agent/pipeline/record_decoder.h"
#include "agent/pipeline/ring_reader.h"
#include "agent/probes/kernel_glob.h"
#include "agent/probes/loader.h"
#include "agent/targets/db_targets.h"
#include "agent/targets/probed_files.h"
#include "agent/targets/python_targets.h"
#include "agent/targets/targets.h"
#include "agent/targets/usdt_targets.h"
#include "exporters/console/console_sink.h"
#include "exporters/console/summary_sink.h"
#include "exporters/jsonl/jsonl_sink.h"
#include "exporters/prometheus/basic_auth.h"
#include "exporters/prometheus/metrics_server.h"
#include "exporters/prometheus/prometheus_sink.h"

namespace profilis {
namespace {

int libbpf_print_all(libbpf_print_level, const char* format, va_list args) {
  return std::vfprintf(stderr, format, args);
}

int libbpf_print_warnings(libbpf_print_level level, const char* format, va_list args) {
  return level == LIBBPF_WARN ? std::vfprintf(stderr, format, args) : 0;
}

struct Plan {
  std::vector<TracedProcess> processes;
  std::vector<FunctionProbe> probes;
  std::vector<DbProbe> db_probes;
  std::vector<UsdtProbe> usdt_probes;
  std::vector<PythonProbes> python_probes;  // with --python-fn, one per process or --binary file
  profilis_python_filters python_filters{};
  std::vector<std::pair<pid_t, MarkerFile>> marker_files;
  // PostgreSQL server binaries with query USDT probes among the targets: path → as mapped.
  std::map<std::string, std::string> pg_servers;
  // Files probed for every process (--binary, --node): their DB functions, markers, server probes.
  std::vector<ProbedFile> files;
};

bool is_postgres_server(const std::string& exe_path) {
  const auto notes = read_usdt_notes(exe_path);
  if (!notes) return false;  // not an ELF file we can read: simply no server probes
  return has_postgres_query_probes(*notes);
}

// Whether spec `index` of `aggregated_specs`' kind (--fn or --python-fn) is added up in the kernel.
bool is_aggregated(const Options& options, const std::vector<std::size_t>& aggregated_specs,
                   std::size_t index) {
  return options.aggregate ||
         std::count(aggregated_specs.begin(), aggregated_specs.end(), index) > 0;
}

void add_function_probes(Plan& plan, std::vector<FunctionProbe> probes, bool aggregate) {
  for (FunctionProbe& probe : probes) {
    probe.aggregate = aggregate;
    plan.probes.push_back(std::move(probe));
  }
}

// Resolves every --fn for every --pid before anything is loaded, so bad input fails fast and whole.
Plan plan_probes(const Options& options, NodeFiles& node_files) {
  Plan plan;
  for (pid_t pid : options.pids) {
    const bool repeated = std::any_of(plan.processes.begin(), plan.processes.end(),
                                      [&](const TracedProcess& p) { return p.pid == pid; });
    if (!repeated) plan.processes.push_back(inspect_process(pid));
  }
  for (const auto& process : plan.processes) {
    for (std::size_t i = 0; i < options.fn_specs.size(); ++i) {
      auto probes =
          resolve_functions(process, parse_fn_spec(options.fn_specs[i]), options.fn_returns);
      add_function_probes(plan, std::move(probes),
                          is_aggregated(options, options.aggregated_fn_specs, i));
    }
    for (const auto& spec : options.usdt_specs) {
      plan.usdt_probes.push_back(resolve_usdt_probe(process, parse_usdt_spec(spec)));
    }
    if (!options.python_fn_specs.empty()) {
      plan.python_probes.push_back(resolve_python_probes(process));
    }
    for (auto& file : find_marker_files(process)) {
      plan.marker_files.emplace_back(process.pid, std::move(file));
    }
    auto db_probes = resolve_db_probes(process, options.db_vendors);
    plan.db_probes.insert(plan.db_probes.end(), db_probes.begin(), db_probes.end());
    const std::string exe = proc_path(process.pid, "exe");
    if (std::count(options.db_vendors.begin(), options.db_vendors.end(), DbVendor::kPostgresql) &&
        !plan.pg_servers.contains(process.exe) && is_postgres_server(exe)) {
      plan.pg_servers[process.exe] = exe;
    }
  }
  for (const auto& path : options.binaries) {
    const FileTarget file = file_target(path, path);
    const std::size_t probes_before =
        plan.probes.size() + plan.usdt_probes.size() + plan.python_probes.size();
    for (std::size_t i = 0; i < options.fn_specs.size(); ++i) {
      auto probes = resolve_functions(file, parse_fn_spec(options.fn_specs[i]), options.fn_returns);
      add_function_probes(plan, std::move(probes),
                          is_aggregated(options, options.aggregated_fn_specs, i));
    }
    for (const auto& spec : options.usdt_specs) {
      plan.usdt_probes.push_back(resolve_usdt_probe(file, parse_usdt_spec(spec)));
    }
    if (!options.python_fn_specs.empty()) {
      plan.python_probes.push_back(resolve_python_probes(file));
    }
    ProbedFile probed = examine_file(file, options.db_vendors);
    probed.named = true;
    node_files.mark_seen(file);
    if (probed.empty() &&
        plan.probes.size() + plan.usdt_probes.size() + plan.python_probes.size() == probes_before) {
      throw UsageError("--binary " + path +
                       ": nothing to trace in it (no profilis markers, no database client "
                       "functions, no PostgreSQL server probes); name functions with --fn");
    }
    if (!probed.empty()) plan.files.push_back(std::move(probed));
  }
  drop_repeated_sites(plan.probes);
  std::vector<PythonFnSpec> python_fns;
  for (std::size_t i = 0; i < options.python_fn_specs.size(); ++i) {
    python_fns.push_back(parse_python_fn_spec(options.python_fn_specs[i]));
    python_fns.back().aggregate = is_aggregated(options, options.aggregated_python_fn_specs, i);
  }
  plan.python_filters = compile_python_filters(python_fns);
  if (options.node) {
    for (const pid_t pid : node_processes()) {
      if (pid == ::getpid()) continue;
      auto files = node_files.new_files_of(pid);
      for (auto& file : files) plan.files.push_back(std::move(file));
    }
  }
  if (plan.probes.empty() && plan.db_probes.empty() && plan.pg_servers.empty() &&
      plan.usdt_probes.empty() && plan.python_probes.empty() && plan.marker_files.empty() &&
      plan.files.empty() && !options.node) {
    throw UsageError(
        "nothing to trace: the target has no profilis:* markers, maps no supported database "
        "client library (libpq, libmariadb/libmysqlclient, libsqlite3) or --db excludes them, "
        "and no --fn or --usdt was given");
  }
  return plan;
}

// Probes grouped by the process and file they go in, in first-seen order: each group is one
// attach (one uprobe-multi link per program where the kernel has them).
template <typename Probe>
std::vector<std::vector<const Probe*>> by_process_and_file(const std::vector<Probe>& probes) {
  std::vector<std::vector<const Probe*>> groups;
  std::map<std::pair<pid_t, std::string>, std::size_t> index;
  for (const auto& probe : probes) {
    const auto [it, added] = index.try_emplace({probe.pid, probe.path}, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(&probe);
  }
  return groups;
}

void attach_all(BpfPrograms& program, const Plan& plan, bool verbose,
                std::vector<std::string>& fn_names, MarkerStrings& strings) {
  if (verbose) {
    std::fprintf(stderr, "profilis-agent: attaching uprobes %s\n",
                 program.uses_multi_links()
                     ? "by uprobe-multi links (one per file and program)"
                     : "one perf-event link per probe (this kernel has no uprobe-multi links)");
  }
  for (const auto& group : by_process_and_file(plan.probes)) {
    // Ids first: a tail jump's cookie names the traced function it jumps to, if it is one.
    std::map<std::uint64_t, std::uint64_t> id_at_offset;
    for (const FunctionProbe* probe : group) {
      id_at_offset.try_emplace(probe->file_offset, fn_names.size());
      fn_names.push_back(probe->name);
    }
    FunctionSites sites;
    for (const FunctionProbe* probe : group) {
      const std::uint64_t id = id_at_offset.at(probe->file_offset);
      const auto tail_target = [&](std::uint64_t offset) -> std::uint64_t {
        const auto target = id_at_offset.find(offset);
        if (target == id_at_offset.end() || target->second + 1 >= PROFILIS_TAIL_UNTRACED) {
          return PROFILIS_TAIL_UNTRACED;
        }
        return target->second + 1;
      };
      std::uint64_t entry_cookie = id | (probe->aggregate ? PROFILIS_ENTRY_AGGREGATE : 0);
      if (probe->returns.entry_tail_target != 0) {
        entry_cookie |= tail_target(probe->returns.entry_tail_target) << PROFILIS_EXIT_TARGET_SHIFT;
      }
      sites.entries.push_back({.file_offset = probe->file_offset, .cookie = entry_cookie});
      if (probe->returns.way == ReturnWay::uretprobe) {
        sites.uretprobes.push_back({.file_offset = probe->file_offset, .cookie = id});
      }
      for (const ExitProbe& exit : probe->returns.exits) {
        const std::uint64_t tail = exit.kind == PROFILIS_EXIT_TAIL_JUMP
                                       ? tail_target(exit.target_offset)
                                       : PROFILIS_TAIL_UNTRACED;
        sites.exits.push_back(
            {.file_offset = exit.file_offset,
             .cookie = id | (std::uint64_t{exit.condition} << PROFILIS_EXIT_CONDITION_SHIFT) |
                       (std::uint64_t{exit.kind} << PROFILIS_EXIT_KIND_SHIFT) |
                       (tail << PROFILIS_EXIT_TARGET_SHIFT)});
      }
      sites.goroutines = probe->returns.way == ReturnWay::goroutine_exits;
      if (verbose) {
        std::fprintf(stderr,
                     "profilis-agent: attached %s in %s at offset 0x%llx (pid %d); returns %s%s\n",
                     probe->name.c_str(), probe->object.c_str(),
                     static_cast<unsigned long long>(probe->file_offset), probe->pid,
                     probe->returns.why.c_str(),
                     probe->aggregate ? "; calls added up in the kernel (--aggregate)" : "");
      }
    }
    const FunctionProbe& first = *group.front();
    program.attach_functions(first.pid, first.path, sites,
                             group.size() == 1
                                 ? first.name + " in " + first.object
                                 : std::to_string(group.size()) + " functions in " + first.object);
  }
  for (const auto& group : by_process_and_file(plan.db_probes)) {
    std::vector<UprobeSite> sites;
    for (const DbProbe* probe : group) {
      sites.push_back({.file_offset = probe->file_offset, .cookie = probe->api});
      if (verbose) {
        std::fprintf(stderr, "profilis-agent: attached %s in %s (pid %d)\n",
                     probe->function.c_str(), probe->object.c_str(), probe->pid);
      }
    }
    const DbProbe& first = *group.front();
    program.attach_db(first.pid, first.path, sites, "database client functions in " + first.object);
  }
  for (const auto& probe : plan.usdt_probes) {
    const std::string label = probe.object;
    if (probe.spec.end.empty()) {
      program.attach_usdt_point(probe.pid, probe.path, probe.spec.provider, probe.spec.name,
                                fn_names.size(), label);
    } else {
      program.attach_usdt_pair(probe.pid, probe.path, probe.spec.provider, probe.spec.name,
                               probe.spec.end, fn_names.size(), label);
    }
    if (verbose) {
      std::fprintf(stderr, "profilis-agent: attached USDT %s in %s (pid %d)\n",
                   probe.spec.event_name().c_str(), label.c_str(), probe.pid);
    }
    fn_names.push_back(probe.spec.event_name());
  }
  if (!plan.python_probes.empty()) program.set_python_filters(plan.python_filters);
  for (const auto& probe : plan.python_probes) {
    program.attach_python(probe);
    if (verbose) {
      std::fprintf(stderr,
                   "profilis-agent: attached python:function__entry/__return in %s (pid %d) %s, "
                   "%u --python-fn filter(s); python:line %s\n",
                   probe.object.c_str(), probe.pid,
                   probe.register_arguments ? "by registers" : "by USDT note",
                   plan.python_filters.count,
                   probe.line_semaphore != 0 ? "enabled through its semaphore" : "not declared");
    }
  }
  for (const auto& [pid, markers] : plan.marker_files) {
    std::uint32_t object = strings.add(markers.file.path, markers.read_only);
    if (object > PROFILIS_MAX_MARKER_OBJECTS) object = 0;
    if (object != 0) {
      const auto [start, end] = strings.range(object);
      program.set_marker_object(object, start, end);
    }
    program.attach_markers(pid, markers.file.path, markers.markers, object, markers.file.object);
    if (verbose) {
      const auto by_registers =
          std::count_if(markers.markers.begin(), markers.markers.end(),
                        [](const MarkerProbe& marker) { return marker.register_arguments; });
      std::fprintf(stderr,
                   "profilis-agent: attached %zu profilis marker probes in %s (pid %d): %zu by "
                   "registers, %zu by USDT note; constant names read from %s\n",
                   markers.markers.size(), markers.file.object.c_str(), pid,
                   static_cast<std::size_t>(by_registers),
                   markers.markers.size() - static_cast<std::size_t>(by_registers),
                   object != 0 ? "the file" : "the process");
    }
  }
  for (const auto& [binary, path] : plan.pg_servers) {
    program.attach_postgres_server(path, binary);
    if (verbose) {
      std::fprintf(stderr, "profilis-agent: attached postgresql server probes in %s\n",
                   binary.c_str());
    }
  }
}

// The sinks, and what the agent needs to reach of them after handing them to the collector.
struct Outputs {
  std::shared_ptr<prometheus::Registry> registry;  // set with --prometheus
  std::optional<BasicAuthUsers> scrapers;          // set with --prometheus-basic-auth-file
  const JsonlSink* jsonl = nullptr;                // owned by the collector
  std::vector<std::unique_ptr<Sink>> sinks;
};

std::string host_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("unknown");
}

Outputs make_outputs(const Options& options) {
  Outputs out;
  if (options.jsonl_dir) {
    try {
      auto jsonl =
          std::make_unique<JsonlSink>(JsonlOptions{.dir = *options.jsonl_dir,
                                                   .prefix = options.jsonl_prefix,
                                                   .rotate_bytes = options.jsonl_rotate_bytes,
                                                   .rotate_secs = options.jsonl_rotate_secs});
      out.jsonl = jsonl.get();
      for (const auto& file : jsonl->finalized_files()) {
        std::fprintf(
            stderr, "profilis-agent: jsonl: finalized %s, left active by an earlier run%s\n",
            file.c_str(),
            jsonl->recovered_partial_lines() > 0 ? " (its partial last line cut off)" : "");
      }
      out.sinks.push_back(std::move(jsonl));
    } catch (const std::system_error& e) {
      throw UsageError(std::string("--jsonl-dir: ") + e.what());
    }
  }
  if (options.prometheus_basic_auth_file) {
    if (!options.prometheus) {
      throw UsageError("--prometheus-basic-auth-file needs --prometheus");
    }
    try {
      out.scrapers = BasicAuthUsers::load(*options.prometheus_basic_auth_file);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--prometheus-basic-auth-file: ") + e.what());
    }
  }
  if (options.prometheus) {
    out.registry = std::make_shared<prometheus::Registry>();
    out.sinks.push_back(std::make_unique<PrometheusSink>(
        *out.registry,
        PrometheusSinkOptions{.instance = options.instance.empty() ? host_name() : options.instance,
                              .worker = options.worker,
                              .version = PROFILIS_VERSION,
                              .metric_labels = options.metric_labels}));
  }
  if (options.summary) out.sinks.push_back(std::make_unique<SummarySink>(*options.summary));
  if (options.console || out.sinks.empty()) {
    out.sinks.push_back(
        std::make_unique<ConsoleSink>(options.console.value_or(JsonStyle::kCompact)));
  }
  return out;
}

ListenAddress listen_address(const std::string& text) {
  try {
    return parse_listen_address(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--prometheus: ") + e.what());
  }
}

// Binds the port now; what it serves is added once the pipeline exists.
std::unique_ptr<MetricsServer> serve_metrics(const Options& options, const Outputs& outputs,
                                             const std::atomic<bool>& serving) {
  MetricsServer::Authorize authorize;
  if (outputs.scrapers) {
    authorize = [users = *outputs.scrapers](const std::string& user, const std::string& password) {
      return users.check(user, password);
    };
  }
  try {
    return std::make_unique<MetricsServer>(
        listen_address(*options.prometheus),
        std::vector<std::shared_ptr<prometheus::Collectable>>{},
        [&serving] { return serving.load(); }, std::move(authorize));
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const AgentError*>(&e)) throw;
    throw RuntimeError(std::string("--prometheus: ") + e.what());
  }
}

// The targets' labels, read at attach while they surely run: the first of their events may be
// decoded after they exit.
ProcessLabeler process_labeler(const Options& options, const Plan& plan) {
  ProcessLabeler labeler(
      {.service = options.service, .kubelet = KubeletLogDirs::from_environment()});
  for (const auto& process : plan.processes) labeler.labels(process.pid, process.comm);
  return labeler;
}

void report_summary(const RingReader& reader, const Collector& collector,
                    const KernelCounters& counts) {
  const std::uint64_t produced = counts[PROFILIS_COUNT_PRODUCED];
  const std::uint64_t upstream = counts[PROFILIS_DROP_RINGBUF_FULL] + reader.malformed();
  std::string delivered, dropped, inexact;
  for (std::size_t i = 0; i < collector.sink_count(); ++i) {
    const std::string name(collector.sink_name(i));
    const auto got = collector.delivered(i), lost = collector.dropped(i);
    delivered += (i ? ", " : "") + std::to_string(got) + " to " + name;
    dropped += ", " + std::to_string(lost) + " by " + name;
    if (got + lost + upstream != produced) inexact += " " + name;
  }
  std::fprintf(stderr,
               "profilis-agent: %llu events produced; delivered: %s; dropped: %llu in the kernel "
               "(ring buffer full), %llu undecodable%s\n",
               static_cast<unsigned long long>(produced), delivered.c_str(),
               static_cast<unsigned long long>(counts[PROFILIS_DROP_RINGBUF_FULL]),
               static_cast<unsigned long long>(reader.malformed()), dropped.c_str());
  if (!inexact.empty()) {
    std::fprintf(stderr,
                 "profilis-agent: warning: produced != delivered + dropped for:%s (records still "
                 "in flight when the agent stopped)\n",
                 inexact.c_str());
  }
  const auto unmeasured = counts[PROFILIS_DROP_TOO_DEEP] + counts[PROFILIS_DROP_NO_STACK] +
                          counts[PROFILIS_DROP_UNMATCHED];
  if (unmeasured + counts[PROFILIS_DROP_ABANDONED] > 0) {
    std::fprintf(stderr,
                 "profilis-agent: calls not measured: %llu nested too deep (per thread: %d calls, "
                 "%d FN / %d REQ / %d DB markers), %llu without a "
                 "stack slot, %llu returns without an entry, %llu left by longjmp/unwind\n",
                 static_cast<unsigned long long>(counts[PROFILIS_DROP_TOO_DEEP]),
                 PROFILIS_MAX_DEPTH, PROFILIS_MAX_DEPTH, PROFILIS_MAX_REQ_DEPTH,
                 PROFILIS_MAX_DB_DEPTH,
                 static_cast<unsigned long long>(counts[PROFILIS_DROP_NO_STACK]),
                 static_cast<unsigned long long>(counts[PROFILIS_DROP_UNMATCHED]),
                 static_cast<unsigned long long>(counts[PROFILIS_DROP_ABANDONED]));
  }
  if (counts[PROFILIS_DROP_AGGREGATE_FULL] > 0) {
    std::fprintf(stderr,
                 "profilis-agent: %llu aggregated calls not counted: all %d series slots (process "
                 "and function) were taken\n",
                 static_cast<unsigned long long>(counts[PROFILIS_DROP_AGGREGATE_FULL]),
                 PROFILIS_MAX_AGGREGATE_SERIES);
  }
}

// The marker strings the kernel could not read (the events have them empty and say so), by field;
// nothing when there were none.
void report_unreadable(const RecordDecoder& decoder) {
  std::string fields;
  for (const StringField field : kStringFields) {
    if (const auto n = decoder.unreadable_fields(field)) {
      fields +=
          (fields.empty() ? "" : ", ") + std::string(field_name(field)) + " " + std::to_string(n);
    }
  }
  if (!fields.empty()) {
    std::fprintf(stderr,
                 "profilis-agent: strings the kernel could not read from the process (reported "
                 "empty, marked \"unreadable\"): %s\n",
                 fields.c_str());
  }
}

// Waits up to `timeout` for the collector's room signal, and clears it.
void wait_for_room(int room_fd, std::chrono::milliseconds timeout) {
  pollfd fd{.fd = room_fd, .events = POLLIN, .revents = 0};
  if (::poll(&fd, 1, static_cast<int>(timeout.count())) > 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(room_fd, &count, sizeof count);
  }
}

// After the stop: takes every record left in the ring buffer, waiting for the sinks where they are
// behind, until each record the probes produced is accounted for (taken, or dropped in the
// kernel). Gives up only when nothing moves for longer than a stuck sink is waited for.
void drain_to_the_end(RingReader& reader, const BpfPrograms& program, const Collector& collector,
                      std::chrono::milliseconds sink_timeout) {
  using Clock = std::chrono::steady_clock;
  const auto patience = sink_timeout + std::chrono::seconds(1);
  std::uint64_t seen = reader.records();
  auto moved = Clock::now();
  for (;;) {
    const bool took_all = reader.drain();
    const auto counts = program.counters();
    if (took_all &&
        reader.records() + counts[PROFILIS_DROP_RINGBUF_FULL] >= counts[PROFILIS_COUNT_PRODUCED]) {
      return;
    }
    const auto now = Clock::now();
    if (reader.records() != seen) {
      seen = reader.records();
      moved = now;
    } else if (now - moved > patience) {
      std::fprintf(stderr, "profilis-agent: gave up waiting for the last records (%s)\n",
                   took_all ? "reserved but never submitted" : "the sinks take nothing");
      return;
    }
    wait_for_room(collector.room_fd(), std::chrono::milliseconds(took_all ? 1 : 50));
  }
}

// Drains the ring buffer as records come, until a stop signal, the deadline, or the last target's
// exit.
void wait_until_stopped(EventLoop& loop, RingReader& reader, BpfPrograms& program,
                        ProcessNotices* notices, ProcessFollower* follower) {
  for (;;) {
    const auto wake = loop.wait();
    if (follower) follower->on_tick();
    switch (wake) {
      case EventLoop::Wake::kRecords:
        loop.pause_records(!reader.drain());
        break;
      case EventLoop::Wake::kProcessNotices:
        loop.pause_records(!reader.drain());
        if (notices && follower) follower->on_notices(notices->take());
        break;
      case EventLoop::Wake::kStop:
      case EventLoop::Wake::kDeadline:
        return;
      case EventLoop::Wake::kOneTargetExited:
        program.forget_process(loop.exited());
        break;
      case EventLoop::Wake::kTargetExited:
        std::fprintf(stderr, "profilis-agent: all traced processes exited\n");
        return;
      case EventLoop::Wake::kNothing:
        break;
    }
  }
}

}  // namespace

void run_agent(const Options& options) {
  libbpf_set_print(options.verbose ? libbpf_print_all : libbpf_print_warnings);
  // A console whose reader went away fails its writes (EPIPE, counted as its drops) instead of
  // killing the agent and with it the other sinks' output.
  ::signal(SIGPIPE, SIG_IGN);
  check_privileges_and_kernel();
  NodeFiles node_files(options.db_vendors);
  const Plan plan = plan_probes(options, node_files);
  const bool by_file = options.node || !options.binaries.empty();
  // Before the first thread (the sinks' and the metrics server's), so that every thread inherits
  // the mask and a stop signal waits for the event loop, even one that comes during the attach.
  block_stop_signals();

  // Every sink is opened, and the metrics port bound, before anything is attached: a bad
  // --jsonl-dir or a taken port fails at once, and the target never carries probes for nothing.
  Outputs outputs = make_outputs(options);
  Collector collector(CollectorOptions{.queue_size = options.queue_size,
                                       .batch_max = options.batch_max,
                                       .flush_interval = options.flush_interval,
                                       .sink_timeout = options.sink_timeout},
                      std::move(outputs.sinks));
  // What the metrics server reads is declared before it, so that whatever way this function is
  // left, the server stops before any of it is destroyed.
  std::optional<BpfPrograms> program;
  MarkerStrings marker_strings;
  ProcessLabeler labeler = process_labeler(options, plan);
  std::optional<RecordDecoder> decoder;
  std::optional<RingReader> reader;
  std::atomic<bool> serving{true};
  std::unique_ptr<MetricsServer> server;
  if (outputs.registry) server = serve_metrics(options, outputs, serving);

  program.emplace(BpfPrograms::load(LoadOptions{.min_duration_ns = options.min_duration_ns,
                                                .ring_buffer_bytes = options.ring_buffer_bytes,
                                                .sql_max_bytes = options.sql_max_bytes,
                                                .python_fns = !plan.python_probes.empty()}));
  for (const auto& process : plan.processes) program->add_target_pid(process.pid);
  if (by_file) {
    // Rules and exec tracking first, then the verdicts of the running processes, then the probes:
    // no process is traced before the rules have judged it.
    program->set_process_rules(process_rules(options));
    program->follow_processes(true);
    judge_running_processes(*program, options);
  } else {
    program->follow_processes(false);
  }
  program->set_trace_mode(by_file ? PROFILIS_TRACE_UNLISTED : PROFILIS_TRACE_LISTED);
  std::vector<std::string> fn_names;
  attach_all(*program, plan, options.verbose, fn_names, marker_strings);
  attach_files(*program, plan.files, options.verbose);
  std::optional<ProcessNotices> notices;
  std::optional<ProcessFollower> follower;
  if (by_file) {
    notices.emplace(program->process_notice_fd());
    follower.emplace(*program, options, node_files, labeler);
  }

  const bool aggregating =
      std::any_of(plan.probes.begin(), plan.probes.end(),
                  [](const FunctionProbe& probe) { return probe.aggregate; }) ||
      (!plan.python_probes.empty() && plan.python_filters.aggregate != 0);
  std::vector<std::string> aggregate_names;
  if (aggregating) aggregate_names = fn_names;
  decoder.emplace(std::move(fn_names), labeler, monotonic_to_realtime_offset_ns(), options.sql_text,
                  &marker_strings, options.sql_max_bytes);
  reader.emplace(program->ring_buffer_fd(), *decoder, collector);
  std::vector<pid_t> pids;
  for (const auto& process : plan.processes) pids.push_back(process.pid);
  EventLoop loop(reader->epoll_fd(), collector.room_fd(), pids, options.duration);
  if (by_file) {
    loop.keep_going_without_targets();
    loop.watch_process_notices(notices->epoll_fd());
  }
  collector.start();
  if (outputs.registry) {
    // Health first: the sink's families, read after, hold at least every event a scrape counts
    // as delivered to them.
    server->add(std::make_shared<HealthMetrics>(*program, collector, *reader, *decoder));
    if (aggregating) {
      server->add(std::make_shared<AggregateMetrics>(
          *program, outputs.registry, aggregate_names,
          AggregateLabels{.instance = options.instance.empty() ? host_name() : options.instance,
                          .service = options.service,
                          .worker = options.worker}));
    } else {
      server->add(outputs.registry);
    }
  }
  std::fprintf(stderr,
               "profilis-agent: tracing %zu function(s), %zu database client function(s), %zu "
               "database server(s), %zu USDT probe(s), Python functions in %zu file(s) and "
               "profilis markers in %zu file(s), in %zu process(es)%s\n",
               plan.probes.size(), plan.db_probes.size(), plan.pg_servers.size(),
               plan.usdt_probes.size(), plan.python_probes.size(), plan.marker_files.size(),
               plan.processes.size(),
               by_file ? (", and " + std::to_string(plan.files.size()) +
                          " file(s) for every process" + (options.node ? " on the node" : ""))
                             .c_str()
                       : "");

  wait_until_stopped(loop, *reader, *program, notices ? &*notices : nullptr,
                     follower ? &*follower : nullptr);
  program->stop_tracing();
  serving = false;
  collector.leave_stuck_sinks_behind();
  drain_to_the_end(*reader, *program, collector, options.sink_timeout);
  const auto counts = program->counters();
  collector.stop();
  report_summary(*reader, collector, counts);
  if (aggregating) {
    std::uint64_t calls = 0;
    const auto series = read_aggregates(*program, aggregate_names);
    for (const NamedAggregate& one : series) calls += one.total.count;
    std::fprintf(stderr,
                 "profilis-agent: %llu calls added up in the kernel (--aggregate), in %zu series\n",
                 static_cast<unsigned long long>(calls), series.size());
  }
  if (const auto lost = program->lost_process_notices()) {
    std::fprintf(stderr,
                 "profilis-agent: %llu process notices lost (ring full): labels or new files of "
                 "those processes may be missing\n",
                 static_cast<unsigned long long>(lost));
  }
  report_unreadable(*decoder);
  server.reset();
  // After every output is complete (the kernel's part of it is left to a child process).
  program->detach_all();
}

}  // namespace profilis
