// Which database client libraries a process maps, and where the query functions of each are.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/targets.h"

namespace profilis {

enum class DbVendor { kPostgresql, kMysql, kSqlite };

// --sql-text: literals replaced by `?` (the default: no data leaves the process), as sent, or no
// text at all.
enum class SqlTextMode { kRedacted, kRaw, kOff };

// "postgresql", "mysql", "sqlite": the db_vendor of events and metrics.
const char* vendor_name(DbVendor vendor);

// --db: "auto" (every supported vendor), "none", or a comma list of vendor names. Throws
// UsageError naming the unknown vendor and the known ones.
std::vector<DbVendor> parse_db_list(std::string_view text);

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
std::vector<DbProbe> resolve_db_probes(const TracedProcess& process,
                                       const std::vector<DbVendor>& vendors);

}  // namespace profilis
