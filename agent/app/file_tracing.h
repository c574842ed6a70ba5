// Tracing by file (--binary, --node): attaching the files, the rules of which processes are traced,
// and what the agent does as processes exec and exit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <utility>
#include <vector>

#include "agent/app/cli.h"
#include "agent/pipeline/process_labeler.h"
#include "agent/probes/loader.h"
#include "agent/targets/probed_files.h"
#include "profilis_records.h"

namespace profilis {

// Probes on files for every process: one attach per file and program. A file --node found that
// cannot be attached (gone since) is a warning; a --binary the user named is an error.
void attach_files(BpfPrograms& program, const std::vector<ProbedFile>& files, bool verbose);

// The --include-comm/--exclude-comm globs and the --include-container hold, for the kernel.
profilis_process_rules process_rules(const Options& options);

// The verdicts of the processes already running under --node/--binary, by the same rules the
// kernel applies at each exec from now on. The agent itself is never traced.
void judge_running_processes(BpfPrograms& program, const Options& options);

// What the agent does as processes come and go under --node/--binary: lets a held process in when
// its container is included, and probes the files a new process brings (a container's own copy
// of a library, a new executable with markers), now and once more after its dynamic loader has
// mapped its libraries.
class ProcessFollower {
 public:
  // Every referenced object must outlive this.
  ProcessFollower(BpfPrograms& program, const Options& options, NodeFiles& node_files,
                  ProcessLabeler& labeler)
      : program_(program), options_(options), node_files_(node_files), labeler_(labeler) {}

  // Call after draining the event ring: an exit notice comes after the process's last records.
  void on_notices(const std::vector<profilis_process_notice>& notices);
  // Rescans the processes whose dynamic loader has had time to map their libraries.
  void on_tick();

 private:
  using Clock = std::chrono::steady_clock;
  void probe_new_files(pid_t pid);

  BpfPrograms& program_;
  const Options& options_;
  NodeFiles& node_files_;
  ProcessLabeler& labeler_;
  std::deque<std::pair<pid_t, Clock::time_point>> rescans_;
};

}  // namespace profilis
