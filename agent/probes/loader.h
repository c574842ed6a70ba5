// The agent's BPF programs — function latency and database-driver latency — loaded as one unit
// that shares one ring buffer, pid filter and drop counters: open → configure → load → attach,
// every libbpf object owned.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/probes/uprobe_multi_link.h"
#include "agent/probes/usdt_attach.h"
#include "agent/targets/python_targets.h"
#include "agent/targets/usdt_targets.h"
#include "profilis_records.h"

struct fn_latency_bpf;
struct db_latency_bpf;
struct usdt_probes_bpf;
struct bpf_link;
struct bpf_program;

namespace profilis {

struct LoadOptions {
  std::uint64_t min_duration_ns = 0;
  std::uint32_t ring_buffer_bytes = 8u << 20;  // a power of two, as the kernel requires
  std::uint32_t sql_max_bytes = 256;           // SQL text read per query, at most PROFILIS_SQL_MAX
  // Loads the --python-fn programs (they need bpf_loop, kernel 5.17): without, a kernel that
  // lacks it still runs everything else.
  bool python_fns = false;
};

using KernelCounters = std::array<std::uint64_t, PROFILIS_COUNTER__COUNT>;

// The calls of one aggregated function (--aggregate) in one process, summed over CPUs.
struct AggregateSeries {
  pid_t pid = 0;
  std::uint64_t fn_id = 0;
  profilis_aggregate total{};
};

// The calls of one aggregated Python code object (--python-fn … --aggregate) in one process,
// summed over CPUs; `name` as its records would give it ("file.py:function"), empty when the kernel
// could not read it.
struct PythonAggregateSeries {
  pid_t pid = 0;
  std::string name;
  profilis_aggregate total{};
};

// `more` added to `into`: counts, sums and buckets.
void add_aggregate(profilis_aggregate& into, const profilis_aggregate& more);

// One place a probe goes in a file, and what comes back with its records.
struct UprobeSite {
  std::uint64_t file_offset = 0;
  std::uint64_t cookie = 0;
};

// The probes of traced functions in one file: every entry, and each return either by uretprobe (at
// the entry's offset) or at the function's exit instructions (cookie: the function's id and the
// exit's condition, PROFILIS_EXIT_CONDITION_SHIFT).
struct FunctionSites {
  std::vector<UprobeSite> entries;
  std::vector<UprobeSite> uretprobes;
  std::vector<UprobeSite> exits;
  bool goroutines = false;  // Go code: entries and exits pair per goroutine (no uretprobes)
};

class BpfPrograms {
 public:
  // Throws RuntimeError (or PrivilegeError when the kernel refuses for lack of privileges) with
  // libbpf's reason.
  static BpfPrograms load(const LoadOptions& options);

  BpfPrograms(BpfPrograms&&) noexcept = default;
  BpfPrograms& operator=(BpfPrograms&&) noexcept = default;
  ~BpfPrograms();

  // Which processes the programs trace (enum profilis_trace_mode): LISTED for --pid, the pids
  // add_target_pid names; UNLISTED for probes on files, every process exclude_pid and the process
  // rules do not exclude. NONE until set, and after stop_tracing.
  void set_trace_mode(profilis_trace_mode mode);
  void add_target_pid(pid_t pid);
  void exclude_pid(pid_t pid);
  // The --include-comm/--exclude-comm globs and --include-container hold, applied at each exec.
  void set_process_rules(const profilis_process_rules& rules);
  // Attaches the scheduler tracepoints that keep the pid filter as processes exec, fork and exit:
  // an exited process's entry goes; with `by_rules` (--node, --binary) each exec gets a verdict by
  // the process rules, a fork its parent's, and the agent hears of both (process_notice_fd).
  void follow_processes(bool by_rules);
  int process_notice_fd() const;
  std::uint64_t lost_process_notices() const;
  // The function probes of the file at `path`, restricted to `pid`; each entry's cookie comes back
  // in its records. Throws RuntimeError naming `label` when the kernel refuses.
  void attach_functions(pid_t pid, const std::string& path, const FunctionSites& sites,
                        const std::string& label);
  // The same for database client-library functions; each cookie is an enum profilis_db_api.
  void attach_db(pid_t pid, const std::string& path, const std::vector<UprobeSite>& sites,
                 const std::string& label);
  // PostgreSQL's query__start/query__done USDT probes in the server binary at `path`, in every
  // process running it: the BPF side keeps the queries of targets and their children (backends).
  void attach_postgres_server(const std::string& path, const std::string& label);
  // The profilis:* markers of the ELF file at `path`, for `pid` only: only that process's
  // semaphores are raised. A marker with register arguments is probed by plain uprobes, one per
  // site, the others by USDT note. `object`: the file's marker object id (0 for none).
  void attach_markers(pid_t pid, const std::string& path, const std::vector<MarkerProbe>& markers,
                      std::uint32_t object, const std::string& label);
  // Tells the kernel the read-only memory [start, end) of marker object `object` (≥ 1), whose
  // constant names the agent reads itself (MarkerStrings).
  void set_marker_object(std::uint32_t object, std::uint64_t start, std::uint64_t end);
  // A third-party USDT probe whose every hit is an FN record with `cookie`.
  void attach_usdt_point(pid_t pid, const std::string& path, const std::string& provider,
                         const std::string& name, std::uint64_t cookie, const std::string& label);
  // Two third-party USDT probes paired per thread into FN records with `cookie`.
  void attach_usdt_pair(pid_t pid, const std::string& path, const std::string& provider,
                        const std::string& start, const std::string& end, std::uint64_t cookie,
                        const std::string& label);
  // The compiled --python-fn globs, for every traced Python process.
  void set_python_filters(const profilis_python_filters& filters);
  // CPython's python:function__entry/__return probes (probes.path, probes.pid only or -1), paired
  // per thread into FN records for the calls set_python_filters passes; and python:line's
  // semaphore raised while attached, by a uprobe at probes.enable_offset, a place the process
  // never runs again: CPython 3.11 fires function__entry only while a tracer or the line probe is
  // on.
  void attach_python(const PythonProbes& probes);
  // The programs ignore every process from now on: instant, unlike detaching, which takes the
  // kernel ~0.1 s per classic uprobe.
  void stop_tracing();
  // Removes what the kernel side keeps for an exited process (prepared statement texts, queries
  // in flight): those maps are LRU-bounded anyway, this keeps them from holding dead entries.
  void forget_process(pid_t pid);
  // Detaches every probe; the kernel's slow part is left to a child that outlives the agent
  // (deferred_detach.h).
  void detach_all();

  int ring_buffer_fd() const;
  std::size_t link_count() const {
    return links_.size() + multi_links_.size() + usdt_links_.size();
  }
  // Whether uprobes go through uprobe-multi links (one per file and program) rather than one
  // perf-event link each, decided once at load.
  bool uses_multi_links() const { return multi_; }
  // Drops per reason and records produced, summed over CPUs; cumulative since load.
  KernelCounters counters() const;
  // Every series of aggregated calls, cumulative since load. Safe to call from any thread.
  std::vector<AggregateSeries> aggregates() const;
  // The same for --python-fn's aggregated calls, one series per code object.
  std::vector<PythonAggregateSeries> python_aggregates() const;

 private:
  struct SkeletonDeleter {
    void operator()(fn_latency_bpf* skel) const;
    void operator()(db_latency_bpf* skel) const;
    void operator()(usdt_probes_bpf* skel) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  BpfPrograms(std::unique_ptr<fn_latency_bpf, SkeletonDeleter> fn,
              std::unique_ptr<db_latency_bpf, SkeletonDeleter> db,
              std::unique_ptr<usdt_probes_bpf, SkeletonDeleter> usdt);
  void attach_usdt(bpf_program* program, pid_t pid, const std::string& path,
                   const std::string& provider, const std::string& name, std::uint64_t cookie,
                   const std::string& label);
  // `program` at every site, by one uprobe-multi link or else one classic link per site.
  void set_verdict(pid_t pid, profilis_pid_verdict verdict);
  void attach_uprobes(bpf_program* program, pid_t pid, const std::string& path,
                      const std::vector<UprobeSite>& sites,
                      const std::vector<std::uint64_t>& ref_ctr_offsets, bool at_return,
                      const std::string& label);

  // Declared before links_: links are destroyed first, then the programs they point to.
  std::unique_ptr<fn_latency_bpf, SkeletonDeleter> fn_;
  std::unique_ptr<db_latency_bpf, SkeletonDeleter> db_;
  std::unique_ptr<usdt_probes_bpf, SkeletonDeleter> usdt_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::vector<UprobeMultiLink> multi_links_;
  UsdtLinks usdt_links_;  // USDT probes, by uprobe-multi link when multi_
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> tracepoint_links_;
  bool multi_ = false;
};

}  // namespace profilis
