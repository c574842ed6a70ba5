#include "agent/probes/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "agent/common/errors.h"
#include "agent/probes/deferred_detach.h"
#include "agent/probes/kernel_error.h"
#include "agent/probes/usdt_attach.h"
#include "db_latency_bpf.skel.h"
#include "fn_latency_bpf.skel.h"
#include "usdt_probes_bpf.skel.h"

namespace profilis {
namespace {

// libbpf's failures to load, share and attach, with what it said.
[[noreturn]] void throw_libbpf(const std::string& what, int err) { throw_kernel_error(what, err); }

[[noreturn]] void throw_attach_error(const std::string& what, int err) {
  throw_kernel_error(what, err, kClassicUprobePrivileges);
}

}  // namespace

void BpfPrograms::SkeletonDeleter::operator()(fn_latency_bpf* skel) const {
  fn_latency_bpf::destroy(skel);
}

void BpfPrograms::SkeletonDeleter::operator()(db_latency_bpf* skel) const {
  db_latency_bpf::destroy(skel);
}

void BpfPrograms::SkeletonDeleter::operator()(usdt_probes_bpf* skel) const {
  usdt_probes_bpf::destroy(skel);
}

void BpfPrograms::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

BpfPrograms::BpfPrograms(std::unique_ptr<fn_latency_bpf, SkeletonDeleter> fn,
                         std::unique_ptr<db_latency_bpf, SkeletonDeleter> db,
                         std::unique_ptr<usdt_probes_bpf, SkeletonDeleter> usdt)
    : fn_(std::move(fn)), db_(std::move(db)), usdt_(std::move(usdt)) {}

BpfPrograms::~BpfPrograms() { detach_all(); }

namespace {

// The other objects use the function object's ring buffer, pid filter and drop counters: one
// reader, one filter, one set of counts for everything.
template <typename Skeleton>
void share_maps(const fn_latency_bpf& from, Skeleton& to) {
  const std::pair<bpf_map*, bpf_map*> shared[] = {{from.maps.events, to.maps.events},
                                                  {from.maps.target_pids, to.maps.target_pids},
                                                  {from.maps.counters, to.maps.counters}};
  for (const auto& [source, target] : shared) {
    if (int err = bpf_map__reuse_fd(target, bpf_map__fd(source))) {
      throw_libbpf(std::string("cannot share map ") + bpf_map__name(source), -err);
    }
  }
}

// A quarter of the ring, at most 256 KiB: the reader is woken early enough to drain a burst
// before it fills the ring, and rarely enough that wakeups stay a small part of a probe's cost.
std::uint64_t wakeup_bytes(std::uint32_t ring_buffer_bytes) {
  return std::min<std::uint64_t>(ring_buffer_bytes / 4, 256u << 10);
}

}  // namespace

BpfPrograms BpfPrograms::load(const LoadOptions& options) {
  std::unique_ptr<fn_latency_bpf, SkeletonDeleter> fn(fn_latency_bpf::open());
  if (!fn) throw_libbpf("cannot open the function-latency BPF object", errno);
  fn->rodata->min_duration_ns = options.min_duration_ns;
  fn->rodata->wakeup_bytes = wakeup_bytes(options.ring_buffer_bytes);
  if (int err = bpf_map__set_max_entries(fn->maps.events, options.ring_buffer_bytes)) {
    throw_libbpf(
        "cannot size the ring buffer (" + std::to_string(options.ring_buffer_bytes) + " bytes)",
        -err);
  }
  const bool multi = uprobe_multi_supported();
  if (multi) {
    for (bpf_program* program : {fn->progs.fn_entry, fn->progs.fn_return, fn->progs.fn_exit,
                                 fn->progs.go_fn_entry, fn->progs.go_fn_exit}) {
      set_uprobe_multi_attach_type(program);
    }
  }
  if (int err = fn_latency_bpf::load(fn.get())) {
    throw_libbpf("cannot load the function-latency BPF programs into the kernel", -err);
  }
  std::unique_ptr<db_latency_bpf, SkeletonDeleter> db(db_latency_bpf::open());
  if (!db) throw_libbpf("cannot open the database-latency BPF object", errno);
  db->rodata->sql_max = options.sql_max_bytes;
  db->rodata->wakeup_bytes = fn->rodata->wakeup_bytes;
  share_maps(*fn, *db);
  if (multi) {
    for (bpf_program* program : {db->progs.db_entry, db->progs.db_return}) {
      set_uprobe_multi_attach_type(program);
    }
    set_usdt_attach_type(db->obj);
  }
  if (int err = db_latency_bpf::load(db.get())) {
    throw_libbpf("cannot load the database-latency BPF programs into the kernel", -err);
  }
  std::unique_ptr<usdt_probes_bpf, SkeletonDeleter> usdt(usdt_probes_bpf::open());
  if (!usdt) throw_libbpf("cannot open the USDT BPF object", errno);
  usdt->rodata->min_duration_ns = options.min_duration_ns;
  usdt->rodata->sql_max = options.sql_max_bytes;
  usdt->rodata->wakeup_bytes = fn->rodata->wakeup_bytes;
  share_maps(*fn, *usdt);
  if (multi) {
    for (bpf_program* program :
         {usdt->progs.req_begin_regs, usdt->progs.req_end_regs, usdt->progs.fn_begin_regs,
          usdt->progs.fn_end_regs, usdt->progs.db_begin_regs, usdt->progs.db_end_regs,
          usdt->progs.python_tracing_on, usdt->progs.python_entry_regs,
          usdt->progs.python_return_regs}) {
      set_uprobe_multi_attach_type(program);
    }
    set_usdt_attach_type(usdt->obj);
  }
  if (!options.python_fns) {
    for (bpf_program* program :
         {usdt->progs.python_entry, usdt->progs.python_return, usdt->progs.python_entry_regs,
          usdt->progs.python_return_regs, usdt->progs.python_tracing_on}) {
      bpf_program__set_autoload(program, false);
    }
  }
  if (int err = usdt_probes_bpf::load(usdt.get())) {
    throw_libbpf("cannot load the USDT BPF programs into the kernel", -err);
  }
  BpfPrograms programs(std::move(fn), std::move(db), std::move(usdt));
  programs.multi_ = multi;
  return programs;
}

void BpfPrograms::set_verdict(pid_t pid, profilis_pid_verdict verdict) {
  const __u32 key = static_cast<__u32>(pid);
  const __u8 value = verdict;
  if (bpf_map__update_elem(fn_->maps.target_pids, &key, sizeof key, &value, sizeof value,
                           BPF_ANY)) {
    throw_libbpf("cannot set pid " + std::to_string(pid) + " in the pid filter", errno);
  }
}

void BpfPrograms::add_target_pid(pid_t pid) { set_verdict(pid, PROFILIS_PID_TRACED); }

void BpfPrograms::exclude_pid(pid_t pid) { set_verdict(pid, PROFILIS_PID_EXCLUDED); }

void BpfPrograms::set_marker_object(std::uint32_t object, std::uint64_t start, std::uint64_t end) {
  const __u32 key = object - 1;
  const profilis_address_range range{.start = start, .end = end};
  if (object == 0 || object > PROFILIS_MAX_MARKER_OBJECTS ||
      bpf_map__update_elem(usdt_->maps.marker_objects, &key, sizeof key, &range, sizeof range,
                           BPF_ANY)) {
    throw_libbpf("cannot register marker object " + std::to_string(object), errno);
  }
}

void BpfPrograms::set_trace_mode(profilis_trace_mode mode) {
  fn_->bss->trace_mode = mode;
  db_->bss->trace_mode = mode;
  usdt_->bss->trace_mode = mode;
}

void BpfPrograms::stop_tracing() { set_trace_mode(PROFILIS_TRACE_NONE); }

void BpfPrograms::set_process_rules(const profilis_process_rules& rules) {
  const __u32 zero = 0;
  if (bpf_map__update_elem(fn_->maps.process_rules, &zero, sizeof zero, &rules, sizeof rules,
                           BPF_ANY)) {
    throw_libbpf("cannot set the process rules", errno);
  }
}

void BpfPrograms::follow_processes(bool by_rules) {
  fn_->bss->following = by_rules ? 1 : 0;
  for (bpf_program* program :
       {fn_->progs.process_exec, fn_->progs.process_fork, fn_->progs.process_exit}) {
    bpf_link* link = bpf_program__attach(program);
    if (!link) {
      throw_libbpf(std::string("cannot attach ") + bpf_program__name(program) +
                       " to its scheduler tracepoint",
                   errno);
    }
    tracepoint_links_.emplace_back(link);
  }
}

int BpfPrograms::process_notice_fd() const { return bpf_map__fd(fn_->maps.process_notices); }

std::uint64_t BpfPrograms::lost_process_notices() const {
  return __atomic_load_n(&fn_->bss->lost_process_notices, __ATOMIC_RELAXED);
}

namespace {

// Deletes every entry of a map keyed by a struct whose first field is the pid.
void delete_entries_of(bpf_map* map, pid_t pid) {
  const std::size_t key_size = bpf_map__key_size(map);
  std::vector<unsigned char> key(key_size), next(key_size);
  std::vector<std::vector<unsigned char>> doomed;
  void* previous = nullptr;
  while (bpf_map__get_next_key(map, previous, next.data(), key_size) == 0) {
    __u32 owner = 0;
    std::memcpy(&owner, next.data(), sizeof owner);
    if (owner == static_cast<__u32>(pid)) doomed.push_back(next);
    key = next;
    previous = key.data();
  }
  for (auto& entry : doomed) bpf_map__delete_elem(map, entry.data(), key_size, 0);
}

}  // namespace

void BpfPrograms::forget_process(pid_t pid) {
  delete_entries_of(db_->maps.statement_texts, pid);
  delete_entries_of(db_->maps.pending_queries, pid);
}

void BpfPrograms::attach_functions(pid_t pid, const std::string& path, const FunctionSites& sites,
                                   const std::string& label) {
  if (sites.goroutines) {
    attach_uprobes(fn_->progs.go_fn_entry, pid, path, sites.entries, {}, false, label);
    attach_uprobes(fn_->progs.go_fn_exit, pid, path, sites.exits, {}, false, label);
    return;
  }
  attach_uprobes(fn_->progs.fn_entry, pid, path, sites.entries, {}, false, label);
  attach_uprobes(fn_->progs.fn_return, pid, path, sites.uretprobes, {}, true, label);
  attach_uprobes(fn_->progs.fn_exit, pid, path, sites.exits, {}, false, label);
}

void BpfPrograms::attach_db(pid_t pid, const std::string& path,
                            const std::vector<UprobeSite>& sites, const std::string& label) {
  attach_uprobes(db_->progs.db_entry, pid, path, sites, {}, false, label);
  attach_uprobes(db_->progs.db_return, pid, path, sites, {}, true, label);
}

void BpfPrograms::attach_postgres_server(const std::string& path, const std::string& label) {
  const std::pair<bpf_program*, const char*> probes[] = {
      {db_->progs.pg_query_start, "query__start"}, {db_->progs.pg_query_done, "query__done"}};
  for (const auto& [prog, name] : probes) {
    if (multi_) {
      usdt_links_.attach(prog, db_->maps.__bpf_usdt_specs, -1, path, "postgresql", name, 0, label);
      continue;
    }
    bpf_link* link = bpf_program__attach_usdt(prog, -1, path.c_str(), "postgresql", name, nullptr);
    if (!link) {
      throw_attach_error(std::string("cannot attach USDT postgresql:") + name + " in " + label,
                         errno);
    }
    links_.emplace_back(link);
  }
}

void BpfPrograms::attach_usdt(bpf_program* program, pid_t pid, const std::string& path,
                              const std::string& provider, const std::string& name,
                              std::uint64_t cookie, const std::string& label) {
  if (multi_) {
    usdt_links_.attach(program, usdt_->maps.__bpf_usdt_specs, pid, path, provider, name, cookie,
                       label);
    return;
  }
  LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = cookie);
  bpf_link* link =
      bpf_program__attach_usdt(program, pid, path.c_str(), provider.c_str(), name.c_str(), &opts);
  if (!link) {
    throw_attach_error("cannot attach USDT probe " + provider + ":" + name + " in " + label +
                           " (pid " + std::to_string(pid) + ")",
                       errno);
  }
  links_.emplace_back(link);
}

void BpfPrograms::attach_markers(pid_t pid, const std::string& path,
                                 const std::vector<MarkerProbe>& markers, std::uint32_t object,
                                 const std::string& label) {
  struct Programs {
    const char* marker;
    bpf_program* by_note;
    bpf_program* by_registers;
  };
  const Programs programs[] = {{"req_begin", usdt_->progs.req_begin, usdt_->progs.req_begin_regs},
                               {"req_end", usdt_->progs.req_end, usdt_->progs.req_end_regs},
                               {"fn_begin", usdt_->progs.fn_begin, usdt_->progs.fn_begin_regs},
                               {"fn_end", usdt_->progs.fn_end, usdt_->progs.fn_end_regs},
                               {"db_begin", usdt_->progs.db_begin, usdt_->progs.db_begin_regs},
                               {"db_end", usdt_->progs.db_end, usdt_->progs.db_end_regs}};
  for (const auto& marker : markers) {
    for (const auto& program : programs) {
      if (marker.name != program.marker) continue;
      if (!marker.register_arguments) {
        attach_usdt(program.by_note, pid, path, "profilis", marker.name, object, label);
        continue;
      }
      std::vector<UprobeSite> sites;
      for (const auto offset : marker.site_offsets) {
        sites.push_back({.file_offset = offset, .cookie = object});
      }
      const std::vector<std::uint64_t> semaphores(sites.size(), marker.semaphore_offset);
      attach_uprobes(program.by_registers, pid, path, sites, semaphores, false,
                     "profilis:" + marker.name + " in " + label);
    }
  }
}

void BpfPrograms::attach_usdt_point(pid_t pid, const std::string& path, const std::string& provider,
                                    const std::string& name, std::uint64_t cookie,
                                    const std::string& label) {
  attach_usdt(usdt_->progs.usdt_point, pid, path, provider, name, cookie, label);
}

void BpfPrograms::attach_usdt_pair(pid_t pid, const std::string& path, const std::string& provider,
                                   const std::string& start, const std::string& end,
                                   std::uint64_t cookie, const std::string& label) {
  attach_usdt(usdt_->progs.usdt_pair_start, pid, path, provider, start, cookie, label);
  attach_usdt(usdt_->progs.usdt_pair_end, pid, path, provider, end, cookie, label);
}

void BpfPrograms::set_python_filters(const profilis_python_filters& filters) {
  const __u32 zero = 0;
  if (bpf_map__update_elem(usdt_->maps.python_filters, &zero, sizeof zero, &filters, sizeof filters,
                           BPF_ANY)) {
    throw_libbpf("cannot set the --python-fn filters", errno);
  }
}

void BpfPrograms::attach_python(const PythonProbes& probes) {
  const std::string& label = probes.object;
  if (probes.line_semaphore != 0) {
    attach_uprobes(usdt_->progs.python_tracing_on, probes.pid, probes.path,
                   {{.file_offset = probes.enable_offset}}, {probes.line_semaphore}, false,
                   "python:line's semaphore in " + label);
  }
  if (!probes.register_arguments) {
    attach_usdt(usdt_->progs.python_entry, probes.pid, probes.path, "python", "function__entry", 0,
                label);
    attach_usdt(usdt_->progs.python_return, probes.pid, probes.path, "python", "function__return",
                0, label);
    return;
  }
  const std::pair<bpf_program*, const PythonProbes::Sites*> programs[] = {
      {usdt_->progs.python_entry_regs, &probes.entry_sites},
      {usdt_->progs.python_return_regs, &probes.return_sites}};
  for (const auto& [program, sites] : programs) {
    std::vector<UprobeSite> at;
    for (const auto offset : sites->offsets) at.push_back({.file_offset = offset});
    attach_uprobes(
        program, probes.pid, probes.path, at, sites->semaphores, false,
        std::string(program == usdt_->progs.python_entry_regs ? "python:function__entry"
                                                              : "python:function__return") +
            " in " + label);
  }
}

void BpfPrograms::attach_uprobes(bpf_program* program, pid_t pid, const std::string& path,
                                 const std::vector<UprobeSite>& sites,
                                 const std::vector<std::uint64_t>& ref_ctr_offsets, bool at_return,
                                 const std::string& label) {
  if (sites.empty()) return;
  if (multi_) {
    std::vector<std::uint64_t> offsets, cookies;
    for (const auto& site : sites) {
      offsets.push_back(site.file_offset);
      cookies.push_back(site.cookie);
    }
    multi_links_.emplace_back(
        bpf_program__fd(program), path,
        UprobeMultiSites{
            .offsets = offsets, .cookies = cookies, .ref_ctr_offsets = ref_ctr_offsets},
        pid, at_return, label);
    return;
  }
  for (std::size_t i = 0; i < sites.size(); ++i) {
    LIBBPF_OPTS(bpf_uprobe_opts, opts,
                .ref_ctr_offset = ref_ctr_offsets.empty() ? 0 : ref_ctr_offsets[i],
                .bpf_cookie = sites[i].cookie, .retprobe = at_return);
    bpf_link* link = bpf_program__attach_uprobe_opts(
        program, pid, path.c_str(), static_cast<size_t>(sites[i].file_offset), &opts);
    if (!link) {
      throw_attach_error(std::string("cannot attach ") + (at_return ? "uretprobe" : "uprobe") +
                             " to " + label + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : ""),
                         errno);
    }
    links_.emplace_back(link);
  }
}

namespace {

// Closing a uprobe-multi link detaches all its probes in one go but waits ~50 ms for the kernel's
// grace periods; closed side by side, the links share those waits instead of adding them up.
void close_concurrently(std::vector<UprobeMultiLink> links) {
  if (links.size() <= 1) return;
  std::vector<std::thread> closers;
  for (auto& link : links) {
    try {
      closers.emplace_back([doomed = std::move(link)]() mutable { doomed.detach(); });
    } catch (const std::system_error&) {
      break;  // no thread to spare: the rest close one by one below
    }
  }
  for (auto& closer : closers) closer.join();
}

}  // namespace

void BpfPrograms::detach_all() {
  tracepoint_links_.clear();
  for (auto& link : usdt_links_.release()) multi_links_.push_back(std::move(link));
  close_concurrently(std::move(multi_links_));
  multi_links_.clear();
  if (links_.empty()) return;
  // The kernel takes ~0.1 s per probe, one at a time: on every way out, errors included, a child
  // process pays that after the agent has exited, and these closes are cheap.
  defer_detach_to_child();
  links_.clear();  // one at a time: libbpf's USDT links share bookkeeping unsafe to free at once
}

int BpfPrograms::ring_buffer_fd() const { return bpf_map__fd(fn_->maps.events); }

KernelCounters BpfPrograms::counters() const {
  KernelCounters total{};
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return total;
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  for (__u32 reason = 0; reason < PROFILIS_COUNTER__COUNT; ++reason) {
    if (bpf_map__lookup_elem(fn_->maps.counters, &reason, sizeof reason, per_cpu.data(),
                             per_cpu.size() * sizeof(std::uint64_t), 0) != 0) {
      continue;
    }
    for (std::uint64_t n : per_cpu) total[reason] += n;
  }
  return total;
}

void add_aggregate(profilis_aggregate& into, const profilis_aggregate& more) {
  into.count += more.count;
  into.sum_ns += more.sum_ns;
  for (std::size_t b = 0; b < PROFILIS_AGGREGATE_BUCKETS; ++b) into.buckets[b] += more.buckets[b];
}

namespace {

// Calls `each(key, copies)` for every entry of per-CPU hash `map`, with its one copy per possible
// CPU (the kernel rounds each up to 8 bytes, which both value types already are).
template <typename Key, typename Value, typename Each>
void for_each_per_cpu_entry(const bpf_map* map, Each each) {
  static_assert(sizeof(Value) % 8 == 0);
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return;
  std::vector<Value> per_cpu(static_cast<std::size_t>(cpus));
  Key key{}, next{};
  const void* previous = nullptr;
  while (bpf_map__get_next_key(map, previous, &next, sizeof next) == 0) {
    key = next;
    previous = &key;
    if (bpf_map__lookup_elem(map, &key, sizeof key, per_cpu.data(), per_cpu.size() * sizeof(Value),
                             0) != 0) {
      continue;  // gone since (never: series are not deleted)
    }
    each(key, per_cpu);
  }
}

}  // namespace

std::vector<AggregateSeries> BpfPrograms::aggregates() const {
  std::vector<AggregateSeries> series;
  for_each_per_cpu_entry<profilis_aggregate_key, profilis_aggregate>(
      fn_->maps.aggregates,
      [&](const profilis_aggregate_key& key, const std::vector<profilis_aggregate>& per_cpu) {
        AggregateSeries one{.pid = static_cast<pid_t>(key.pid), .fn_id = key.fn_id, .total = {}};
        for (const profilis_aggregate& cpu : per_cpu) add_aggregate(one.total, cpu);
        series.push_back(one);
      });
  return series;
}

std::vector<PythonAggregateSeries> BpfPrograms::python_aggregates() const {
  std::vector<PythonAggregateSeries> series;
  for_each_per_cpu_entry<profilis_python_aggregate_key, profilis_python_aggregate>(
      usdt_->maps.python_aggregates, [&](const profilis_python_aggregate_key& key,
                                         const std::vector<profilis_python_aggregate>& per_cpu) {
        PythonAggregateSeries one{.pid = static_cast<pid_t>(key.pid), .name = {}, .total = {}};
        for (const profilis_python_aggregate& cpu : per_cpu) {
          add_aggregate(one.total, cpu.calls);
          // Each CPU that ran a call wrote the same name; the kernel ends it with a NUL.
          if (one.name.empty()) one.name.assign(cpu.name, strnlen(cpu.name, sizeof cpu.name));
        }
        series.push_back(std::move(one));
      });
  return series;
}

}  // namespace profilis
