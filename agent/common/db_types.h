// The database vendors the agent knows and how much of a query's text it keeps: small types that
// the CLI, the targets, the decoder and the list command all name.
#pragma once

#include <string_view>
#include <vector>

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

}  // namespace profilis
