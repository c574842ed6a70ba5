// Probes on files for every process (--binary, --node): what a file has to probe, and, for --node,
// which files of the node's processes have something.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/common/db_types.h"
#include "agent/targets/db_targets.h"
#include "agent/targets/targets.h"
#include "agent/targets/usdt_targets.h"

namespace profilis {

struct ProbedFile {
  FileTarget file;
  std::vector<DbProbe> db_probes;    // pid -1
  std::vector<MarkerProbe> markers;  // profilis:* markers
  bool postgres_server = false;      // has postgresql:query__start/query__done

  bool empty() const { return db_probes.empty() && markers.empty() && !postgres_server; }
};

// What `file` has to probe. Throws UsageError when it is not ELF that can be read.
ProbedFile examine_file(const FileTarget& file, const std::vector<DbVendor>& vendors);

// Every process on the node (every /proc/PID directory), the caller's own included.
std::vector<pid_t> node_processes();

// The files worth probing that the node's processes run, map or may load, each (device, inode)
// reported once: a container's own copy of a library is its own file.
class NodeFiles {
 public:
  explicit NodeFiles(std::vector<DbVendor> vendors) : vendors_(std::move(vendors)) {}

  // The files of process `pid` not reported before that have something to probe: its executable
  // and mapped files, and the first time its mount namespace is met, the client libraries there
  // (probed before any process loads them). A process gone meanwhile has none.
  std::vector<ProbedFile> new_files_of(pid_t pid);
  // A file probed already (a --binary): not reported again.
  void mark_seen(const FileTarget& file) { seen_files_.insert({file.device, file.inode}); }

 private:
  using FileId = std::pair<std::uint64_t, std::uint64_t>;  // device, inode
  void consider(const FileTarget& file, bool may_define_db_api, std::vector<ProbedFile>& found);

  std::vector<DbVendor> vendors_;
  std::set<FileId> seen_files_;
  // Per mount namespace: where the client libraries are installed in it.
  std::map<FileId, std::vector<std::string>> library_paths_;
};

}  // namespace profilis
