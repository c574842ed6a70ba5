#include "agent/common/db_types.h"

#include <algorithm>
#include <string>

#include "agent/common/errors.h"

namespace profilis {

const char* vendor_name(DbVendor vendor) {
  switch (vendor) {
    case DbVendor::kPostgresql:
      return "postgresql";
    case DbVendor::kMysql:
      return "mysql";
    case DbVendor::kSqlite:
      return "sqlite";
  }
  return "unknown";
}

std::vector<DbVendor> parse_db_list(std::string_view text) {
  const std::vector<DbVendor> all = {DbVendor::kPostgresql, DbVendor::kMysql, DbVendor::kSqlite};
  if (text == "auto") return all;
  if (text == "none") return {};
  std::vector<DbVendor> vendors;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto it =
        std::find_if(all.begin(), all.end(), [&](DbVendor v) { return item == vendor_name(v); });
    if (it == all.end()) {
      throw UsageError("--db: unknown database '" + std::string(item) +
                       "'; expected auto, none, or a comma list of postgresql, mysql, sqlite");
    }
    if (std::find(vendors.begin(), vendors.end(), *it) == vendors.end()) vendors.push_back(*it);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (vendors.empty()) throw UsageError("--db: empty list; give auto, none or vendor names");
  return vendors;
}

}  // namespace profilis
