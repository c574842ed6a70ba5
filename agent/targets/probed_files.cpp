#include "agent/targets/probed_files.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

#include "agent/common/errors.h"
#include "agent/inspect/proc_maps.h"
#include "agent/inspect/usdt_notes.h"

namespace profilis {

namespace {

// The file's markers and server probes, from its USDT notes.
ProbedFile with_notes(const FileTarget& file, const std::vector<UsdtNote>& notes) {
  return ProbedFile{.file = file,
                    .db_probes = {},
                    .markers = marker_probes(notes),
                    .postgres_server = has_postgres_query_probes(notes),
                    .named = false};
}

}  // namespace

ProbedFile examine_file(const FileTarget& file, const std::vector<DbVendor>& vendors) {
  ProbedFile probed = with_notes(file, value_or_usage_error(read_usdt_notes(file.path)));
  probed.db_probes = resolve_db_probes(file, vendors);
  return probed;
}

std::vector<pid_t> node_processes() {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) throw RuntimeError(errno_message("cannot list /proc", errno));
  while (const dirent* entry = ::readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
    pids.push_back(static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10)));
  }
  ::closedir(proc);
  return pids;
}

void NodeFiles::consider(const FileTarget& file, bool may_define_db_api,
                         std::vector<ProbedFile>& found) {
  if (!seen_files_.insert({file.device, file.inode}).second) return;
  // Markers and server probes are looked for in every file; a database API only in client
  // libraries and executables (a client linked statically), not in every library's symbols.
  const auto notes = read_usdt_notes(file.path);
  if (!notes) return;  // not ELF (a locale archive, a font): nothing to probe
  ProbedFile probed = with_notes(file, *notes);
  if (may_define_db_api || client_library_vendor(file.object)) {
    try {
      probed.db_probes = resolve_db_probes(file, vendors_);
    } catch (const UsageError&) {
      // Unreadable symbols: its markers and server probes still count.
    }
  }
  if (!probed.empty()) found.push_back(std::move(probed));
}

std::vector<ProbedFile> NodeFiles::new_files_of(pid_t pid) {
  std::vector<ProbedFile> found;
  const std::string root = proc_path(pid, "root");
  // A mount namespace, not a root directory: `unshare --mount` keeps the root and mounts another
  // library over the system's.
  struct stat namespace_info {};
  if (::stat(proc_path(pid, "ns/mnt").c_str(), &namespace_info) != 0) return found;  // gone
  auto [libraries, new_namespace] =
      library_paths_.try_emplace({namespace_info.st_dev, namespace_info.st_ino});
  if (new_namespace) {
    for (const auto& library : installed_client_libraries(root, vendors_)) {
      libraries->second.push_back(library.object);
      consider(library, false, found);
    }
  } else {
    // The same paths again, cheaply: a process may have mounted another file over one since (a
    // private copy, after its namespace was first seen).
    for (const auto& object : libraries->second) {
      try {
        consider(file_target(root + object, object), false, found);
      } catch (const UsageError&) {
      }
    }
  }
  TracedProcess process;
  try {
    process = inspect_process(pid);
  } catch (const UsageError&) {
    return found;  // exited, a thread, or a kernel thread: no files of its own
  }
  try {
    consider(file_target(proc_path(pid, "exe"), process.exe), true, found);
  } catch (const UsageError&) {
  }
  for (const auto& mapped : process.mapped_files) {
    if (mapped == process.exe) continue;
    try {
      consider(file_target(root + mapped, mapped), false, found);
    } catch (const UsageError&) {
      // Unmapped and deleted since: nothing to probe.
    }
  }
  return found;
}

}  // namespace profilis
