#include "agent/app/file_tracing.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "agent/common/errors.h"
#include "agent/common/glob.h"
#include "agent/inspect/container_id.h"
#include "agent/probes/kernel_glob.h"
#include "agent/targets/targets.h"

namespace profilis {
namespace {

void attach_file(BpfPrograms& program, const ProbedFile& probed) {
  const auto& file = probed.file;
  if (!probed.db_probes.empty()) {
    std::vector<UprobeSite> sites;
    for (const auto& probe : probed.db_probes) {
      sites.push_back({.file_offset = probe.file_offset, .cookie = probe.api});
    }
    program.attach_db(-1, file.path, sites, "database client functions in " + file.object);
  }
  if (!probed.markers.empty()) {
    program.attach_markers(-1, file.path, probed.markers, 0, file.object);
  }
  if (probed.postgres_server) program.attach_postgres_server(file.path, file.object);
}

// Whether any glob of `globs` matches `text`.
bool any_glob_matches(const std::vector<std::string>& globs, std::string_view text) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return glob_match(glob, text); });
}

// What the kernel decides at exec by --include-comm/--exclude-comm (bpf/process_rules.bpf.h).
bool comm_allowed(const Options& options, std::string_view comm) {
  return (options.include_comms.empty() || any_glob_matches(options.include_comms, comm)) &&
         !any_glob_matches(options.exclude_comms, comm);
}

// Under --include-container: whether the process is in a container the user asked for.
bool in_included_container(const Options& options, pid_t pid) {
  const auto id = container_id_of_process(pid);
  return id && any_glob_matches(options.include_containers, *id);
}

}  // namespace

// Probes on files for every process: one attach per file and program.
void attach_files(BpfPrograms& program, const std::vector<ProbedFile>& files, bool verbose) {
  for (const auto& probed : files) {
    const auto& file = probed.file;
    try {
      attach_file(program, probed);
    } catch (const AgentError& e) {
      // A file --node found may be gone by now (a process that exited, a container removed): that
      // must not stop the tracing of the rest of the node. A --binary the user named must attach.
      if (probed.named) throw;
      std::fprintf(stderr, "profilis-agent: warning: %s\n", e.what());
      continue;
    }
    if (verbose) {
      std::fprintf(stderr,
                   "profilis-agent: attached to %s%s for every process: %zu database client "
                   "function(s), %zu profilis marker(s)%s\n",
                   file.object.c_str(),
                   file.path == file.object ? "" : (" (as " + file.path + ")").c_str(),
                   probed.db_probes.size(), probed.markers.size(),
                   probed.postgres_server ? ", PostgreSQL server probes" : "");
    }
  }
}

profilis_process_rules process_rules(const Options& options) {
  profilis_process_rules rules{};
  rules.include_count = static_cast<__u32>(options.include_comms.size());
  rules.exclude_count = static_cast<__u32>(options.exclude_comms.size());
  rules.hold_new = options.include_containers.empty() ? 0 : 1;
  for (std::size_t i = 0; i < options.include_comms.size(); ++i) {
    rules.include[i] = compile_kernel_glob(options.include_comms[i]);
  }
  for (std::size_t i = 0; i < options.exclude_comms.size(); ++i) {
    rules.exclude[i] = compile_kernel_glob(options.exclude_comms[i]);
  }
  return rules;
}

// The verdicts of the processes already running under --node/--binary, by the same rules the
// kernel applies at each exec from now on. The agent itself is never traced.
void judge_running_processes(BpfPrograms& program, const Options& options) {
  program.exclude_pid(::getpid());
  const bool by_comm = !options.include_comms.empty() || !options.exclude_comms.empty();
  if (!by_comm && options.include_containers.empty()) return;
  for (const pid_t pid : node_processes()) {
    if (pid == ::getpid()) continue;
    bool traced = comm_allowed(options, process_comm(pid));
    if (traced && !options.include_containers.empty()) traced = in_included_container(options, pid);
    if (!traced) program.exclude_pid(pid);
  }
}

void ProcessFollower::on_notices(const std::vector<profilis_process_notice>& notices) {
  for (const auto& notice : notices) {
    const auto pid = static_cast<pid_t>(notice.pid);
    const std::string comm(notice.comm, strnlen(notice.comm, sizeof notice.comm));
    if (notice.kind == PROFILIS_PROCESS_EXIT) {
      labeler_.forget(pid);
      continue;
    }
    // Its name, container and pod as of this exec (it may have moved cgroup before it), read
    // while the process is surely there.
    labeler_.forget(pid);
    labeler_.labels(pid, comm);
    if (!options_.include_containers.empty() && notice.verdict == PROFILIS_PID_EXCLUDED) {
      if (comm_allowed(options_, comm) && in_included_container(options_, pid)) {
        program_.add_target_pid(pid);
        if (options_.verbose) {
          std::fprintf(stderr, "profilis-agent: pid %d (%s) traced: its container is included\n",
                       pid, comm.c_str());
        }
      }
    }
    if (options_.node) {
      probe_new_files(pid);
      rescans_.push_back({pid, Clock::now() + std::chrono::milliseconds(200)});
    }
  }
}

void ProcessFollower::on_tick() {
  const auto now = Clock::now();
  while (!rescans_.empty() && rescans_.front().second <= now) {
    probe_new_files(rescans_.front().first);
    rescans_.pop_front();
  }
}

void ProcessFollower::probe_new_files(pid_t pid) {
  try {
    attach_files(program_, node_files_.new_files_of(pid), options_.verbose);
  } catch (const AgentError& e) {
    // One file that cannot be probed must not stop the tracing of the rest of the node.
    std::fprintf(stderr, "profilis-agent: warning: pid %d: %s\n", pid, e.what());
  }
}

}  // namespace profilis
