// Which database client libraries a process maps, and where the query functions of each are.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/db_types.h"
#include "agent/inspect/symbols.h"
#include "agent/targets/targets.h"

namespace profilis {

// The vendor whose client library `path` is, by its file name as resolve_db_probes recognizes a
// mapped library ("/usr/lib/x86_64-linux-gnu/libpq.so.5.15" is PostgreSQL), if any.
std::optional<DbVendor> client_library_vendor(const std::string& path);

// The vendors whose query API `symbols` define themselves: an executable that links its client
// library statically, which resolve_db_probes then probes instead of any shared library.
std::vector<DbVendor> vendors_defined_in(const std::vector<FunctionSymbol>& symbols);

struct DbProbe {
  pid_t pid = 0;
  std::string path;    // through /proc/PID/root, like FunctionProbe::path
  std::string object;  // the library as the process maps it
  std::uint64_t file_offset = 0;
  std::uint32_t api = 0;  // enum profilis_db_api
  std::string function;
};

// Probes for every query function of the selected vendors' client libraries: the ones the process
// maps, and the ones installed on its root file system that it may load later (dlopen, exec).
// Throws UsageError when the executable or such a library is not ELF that can be read.
std::vector<DbProbe> resolve_db_probes(const TracedProcess& process,
                                       const std::vector<DbVendor>& vendors);

// The probes of a file for every process (pid -1): the query functions it defines of the selected
// vendors, whether it is their client library or links it statically. Nothing for other files.
// Throws UsageError when the file is not ELF that can be read.
std::vector<DbProbe> resolve_db_probes(const FileTarget& file,
                                       const std::vector<DbVendor>& vendors);

// The selected vendors' client libraries installed under `root` ("" for the agent's own root,
// /proc/PID/root for a container's), as paths that open them and names for messages.
std::vector<FileTarget> installed_client_libraries(const std::string& root,
                                                   const std::vector<DbVendor>& vendors);

}  // namespace profilis
