#include "agent/agent.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <unordered_map>

#include "agent/collector.h"
#include "agent/errors.h"
#include "agent/event_loop.h"
#include "agent/loader.h"
#include "agent/privileges.h"
#include "agent/record_decoder.h"
#include "agent/ring_reader.h"
#include "agent/targets.h"
#include "agent/wall_clock.h"
#include "exporters/console_sink.h"
#include "exporters/jsonl_sink.h"

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
};

// Resolves every --fn for every --pid before anything is loaded, so bad input fails fast and whole.
Plan plan_probes(const Options& options) {
  Plan plan;
  for (pid_t pid : options.pids) {
    const bool repeated = std::any_of(plan.processes.begin(), plan.processes.end(),
                                      [&](const TracedProcess& p) { return p.pid == pid; });
    if (!repeated) plan.processes.push_back(inspect_process(pid));
  }
  for (const auto& process : plan.processes) {
    for (const auto& spec : options.fn_specs) {
      auto probes = resolve_functions(process, parse_fn_spec(spec));
      plan.probes.insert(plan.probes.end(), probes.begin(), probes.end());
    }
  }
  return plan;
}

std::vector<std::unique_ptr<Sink>> make_sinks(const Options& options) {
  std::vector<std::unique_ptr<Sink>> sinks;
  if (options.jsonl_dir) {
    try {
      sinks.push_back(
          std::make_unique<JsonlSink>(JsonlOptions{*options.jsonl_dir, options.jsonl_prefix}));
    } catch (const std::system_error& e) {
      throw UsageError(std::string("--jsonl-dir: ") + e.what());
    }
  }
  if (options.console || sinks.empty()) {
    sinks.push_back(std::make_unique<ConsoleSink>(options.console.value_or(JsonStyle::kCompact)));
  }
  return sinks;
}

std::unordered_map<pid_t, std::string> service_labels(const Options& options, const Plan& plan) {
  std::unordered_map<pid_t, std::string> services;
  for (const auto& process : plan.processes) {
    services[process.pid] = options.service.empty() ? process.comm : options.service;
  }
  return services;
}

void report_summary(const RingReader& reader, const Collector& collector, const DropCounts& drops) {
  std::fprintf(stderr,
               "profilis-agent: %llu events delivered; dropped: %llu in the kernel (ring buffer "
               "full), %llu in the collector (queue full), %llu undecodable records\n",
               static_cast<unsigned long long>(collector.delivered()),
               static_cast<unsigned long long>(drops[PROFILIS_DROP_RINGBUF_FULL]),
               static_cast<unsigned long long>(collector.dropped()),
               static_cast<unsigned long long>(reader.malformed()));
  const auto unmeasured = drops[PROFILIS_DROP_TOO_DEEP] + drops[PROFILIS_DROP_NO_STACK] +
                          drops[PROFILIS_DROP_UNMATCHED];
  if (unmeasured + drops[PROFILIS_DROP_ABANDONED] > 0) {
    std::fprintf(stderr,
                 "profilis-agent: calls not measured: %llu nested deeper than %d, %llu without a "
                 "stack slot, %llu returns without an entry, %llu left by longjmp/unwind\n",
                 static_cast<unsigned long long>(drops[PROFILIS_DROP_TOO_DEEP]), PROFILIS_MAX_DEPTH,
                 static_cast<unsigned long long>(drops[PROFILIS_DROP_NO_STACK]),
                 static_cast<unsigned long long>(drops[PROFILIS_DROP_UNMATCHED]),
                 static_cast<unsigned long long>(drops[PROFILIS_DROP_ABANDONED]));
  }
}

}  // namespace

void run_agent(const Options& options) {
  libbpf_set_print(options.verbose ? libbpf_print_all : libbpf_print_warnings);
  check_privileges_and_kernel();
  const Plan plan = plan_probes(options);

  auto program = FnLatencyProgram::load(LoadOptions{.min_duration_ns = options.min_duration_ns});
  for (const auto& process : plan.processes) program.add_target_pid(process.pid);
  std::vector<std::string> fn_names;
  for (const auto& probe : plan.probes) {
    const std::string label = probe.name + " in " + probe.object;
    program.attach(probe.pid, probe.path, probe.file_offset, fn_names.size(), label);
    if (options.verbose) {
      std::fprintf(stderr, "profilis-agent: attached %s at offset 0x%llx (pid %d)\n", label.c_str(),
                   static_cast<unsigned long long>(probe.file_offset), probe.pid);
    }
    fn_names.push_back(probe.name);
  }

  Collector collector(
      CollectorOptions{options.queue_size, options.batch_max, options.flush_interval},
      make_sinks(options));
  const RecordDecoder decoder(std::move(fn_names), service_labels(options, plan),
                              monotonic_to_realtime_offset_ns());
  RingReader reader(program.ring_buffer_fd(), decoder, collector);
  std::vector<pid_t> pids;
  for (const auto& process : plan.processes) pids.push_back(process.pid);
  EventLoop loop(reader.epoll_fd(), pids, options.duration);
  collector.start();  // after EventLoop blocked the stop signals, so the sink thread inherits that
  std::fprintf(stderr, "profilis-agent: tracing %zu function(s) in %zu process(es)\n",
               plan.probes.size(), plan.processes.size());

  for (bool running = true; running;) {
    switch (loop.wait()) {
      case EventLoop::Wake::kRecords:
        reader.drain();
        break;
      case EventLoop::Wake::kStop:
      case EventLoop::Wake::kDeadline:
        running = false;
        break;
      case EventLoop::Wake::kTargetExited:
        std::fprintf(stderr, "profilis-agent: all traced processes exited\n");
        running = false;
        break;
      case EventLoop::Wake::kNothing:
        break;
    }
  }
  program.detach_all();
  reader.drain();  // records submitted before the detach are still in the ring
  collector.stop();
  report_summary(reader, collector, program.drops());
}

}  // namespace profilis
