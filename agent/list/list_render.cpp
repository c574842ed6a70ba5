#include "agent/list/list_render.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <vector>

#include "agent/common/hex.h"
#include "agent/list/list_table.h"

namespace profilis {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// Enough for a versioned soname ("libpython3.11.so.1.0") to stay whole when long names crowd it.
constexpr std::size_t kObjectMinWidth = 20;

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string count(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string matching(const Listing& listing) {
  return listing.filter.empty() ? "" : " matching '" + listing.filter + "'";
}

template <typename Items>
std::size_t distinct_objects(const Items& items) {
  std::set<std::string_view> objects;
  for (const auto& item : items) objects.insert(item.object);
  return objects.size();
}

// A title, the table when there is something to show, and the count line.
void append_section(std::string& out, std::string_view title,
                    const std::vector<TableColumn>& columns, const Rows& rows,
                    const std::string& count_line, std::size_t max_width) {
  out += std::string(title) + "\n";
  if (!rows.empty()) out += render_table(columns, rows, max_width);
  out += count_line + "\n";
}

void append_functions(std::string& out, const Listing& listing, std::size_t max_width) {
  Rows rows;
  rows.reserve(listing.functions.size());
  for (const ListedFunction& f : listing.functions) {
    rows.push_back({f.name, base_name(f.object), hex(f.address)});
  }
  const std::vector<TableColumn> columns = {{.header = "FUNCTION", .min_width = 24},
                                            {.header = "OBJECT", .min_width = kObjectMinWidth},
                                            {.header = "ADDRESS", .align_right = true}};
  append_section(out, "Functions", columns, rows,
                 count(listing.functions.size(), "function", "functions") + matching(listing) +
                     " in " + count(distinct_objects(listing.functions), "object", "objects"),
                 max_width);
}

void append_usdt(std::string& out, const Listing& listing, std::size_t max_width) {
  Rows rows;
  for (const ListedProbe& p : listing.usdt) {
    rows.push_back({p.provider + ":" + p.name, base_name(p.object), std::to_string(p.sites),
                    p.semaphore ? "yes" : "no", p.arguments});
  }
  const std::vector<TableColumn> columns = {{.header = "PROBE", .min_width = 24},
                                            {.header = "OBJECT", .min_width = kObjectMinWidth},
                                            {.header = "SITES", .align_right = true},
                                            {.header = "SEMAPHORE"},
                                            {.header = "ARGUMENTS", .min_width = 12}};
  append_section(out, "USDT probes", columns, rows,
                 count(listing.usdt.size(), "USDT probe", "USDT probes") + matching(listing) +
                     " in " + count(distinct_objects(listing.usdt), "object", "objects"),
                 max_width);
}

void append_db_libraries(std::string& out, const Listing& listing, std::size_t max_width) {
  Rows rows;
  for (const ListedDbLibrary& l : listing.db_libraries) {
    rows.push_back({vendor_name(l.vendor), l.object, found_name(l.found)});
  }
  const std::vector<TableColumn> columns = {
      {.header = "VENDOR"}, {.header = "OBJECT", .min_width = 20}, {.header = "FOUND"}};
  append_section(out, "Database client libraries", columns, rows,
                 count(listing.db_libraries.size(), "supported library", "supported libraries"),
                 max_width);
}

}  // namespace

std::string render_listing_text(const Listing& listing, std::size_t max_width) {
  std::string out;
  append_functions(out, listing, max_width);
  out += "\n";
  append_usdt(out, listing, max_width);
  out += "\n";
  append_db_libraries(out, listing, max_width);
  return out;
}

std::string render_listing_json(const Listing& listing) {
  using nlohmann::ordered_json;
  ordered_json functions = ordered_json::array();
  for (const ListedFunction& f : listing.functions) {
    functions.push_back({{"name", f.name},
                         {"mangled", f.mangled},
                         {"object", f.object},
                         {"address", hex(f.address)},
                         {"size", f.size}});
  }
  ordered_json usdt = ordered_json::array();
  for (const ListedProbe& p : listing.usdt) {
    usdt.push_back({{"object", p.object},
                    {"provider", p.provider},
                    {"name", p.name},
                    {"arguments", p.arguments},
                    {"semaphore", p.semaphore},
                    {"sites", p.sites}});
  }
  ordered_json libraries = ordered_json::array();
  for (const ListedDbLibrary& l : listing.db_libraries) {
    libraries.push_back(
        {{"vendor", vendor_name(l.vendor)}, {"object", l.object}, {"found", found_name(l.found)}});
  }
  const ordered_json document = {
      {"functions", functions}, {"usdt", usdt}, {"db_libraries", libraries}};
  return document.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace profilis
