#include "agent/targets/db_targets.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "agent/common/errors.h"
#include "agent/inspect/proc_maps.h"
#include "agent/inspect/symbols.h"
#include "profilis_records.h"

namespace profilis {
namespace {

struct ApiFunction {
  const char* name;
  std::uint32_t api;
};

struct ClientLibrary {
  DbVendor vendor;
  const char* object;  // a file name prefix up to a dot, as find_mapped_object takes it
  std::vector<ApiFunction> functions;
};

const std::vector<ClientLibrary>& client_libraries() {
  static const std::vector<ClientLibrary> libraries = {
      {DbVendor::kPostgresql,
       "libpq.so",
       {{"PQexec", PROFILIS_PQ_EXEC},
        {"PQexecParams", PROFILIS_PQ_EXEC_PARAMS},
        {"PQprepare", PROFILIS_PQ_PREPARE},
        {"PQexecPrepared", PROFILIS_PQ_EXEC_PREPARED},
        {"PQsendQuery", PROFILIS_PQ_SEND_QUERY},
        {"PQsendQueryParams", PROFILIS_PQ_SEND_QUERY_PARAMS},
        {"PQsendPrepare", PROFILIS_PQ_SEND_PREPARE},
        {"PQsendQueryPrepared", PROFILIS_PQ_SEND_QUERY_PREPARED},
        {"PQgetResult", PROFILIS_PQ_GET_RESULT},
        {"PQfinish", PROFILIS_PQ_FINISH}}},
      {DbVendor::kMysql, "libmariadb.so", {}},
      {DbVendor::kMysql, "libmysqlclient.so", {}},
      {DbVendor::kSqlite,
       "libsqlite3.so",
       {{"sqlite3_exec", PROFILIS_SQ_EXEC},
        {"sqlite3_prepare_v2", PROFILIS_SQ_PREPARE_V2},
        {"sqlite3_prepare_v3", PROFILIS_SQ_PREPARE_V3},
        {"sqlite3_step", PROFILIS_SQ_STEP},
        {"sqlite3_reset", PROFILIS_SQ_RESET},
        {"sqlite3_finalize", PROFILIS_SQ_FINALIZE}}},
  };
  return libraries;
}

// libmariadb and libmysqlclient export the same API.
const std::vector<ApiFunction>& mysql_functions() {
  static const std::vector<ApiFunction> functions = {
      {"mysql_real_query", PROFILIS_MY_REAL_QUERY},
      {"mysql_query", PROFILIS_MY_QUERY},
      {"mysql_send_query", PROFILIS_MY_SEND_QUERY},
      {"mysql_read_query_result", PROFILIS_MY_READ_QUERY_RESULT},
      {"mysql_stmt_prepare", PROFILIS_MY_STMT_PREPARE},
      {"mysql_stmt_execute", PROFILIS_MY_STMT_EXECUTE},
      {"mysql_stmt_close", PROFILIS_MY_STMT_CLOSE},
      {"mysql_close", PROFILIS_MY_CLOSE}};
  return functions;
}

const std::vector<ApiFunction>& functions_of(const ClientLibrary& library) {
  return library.vendor == DbVendor::kMysql ? mysql_functions() : library.functions;
}

bool selected(const std::vector<DbVendor>& vendors, DbVendor vendor) {
  return std::find(vendors.begin(), vendors.end(), vendor) != vendors.end();
}

const FunctionSymbol* find_symbol(const std::vector<FunctionSymbol>& symbols,
                                  std::string_view name) {
  const auto it = std::find_if(symbols.begin(), symbols.end(),
                               [&](const FunctionSymbol& s) { return s.name == name; });
  return it == symbols.end() ? nullptr : &*it;
}

// Where a library the process has not loaded yet would come from, inside its root.
constexpr const char* kLibraryDirs[] = {"/usr/lib/x86_64-linux-gnu",
                                        "/lib/x86_64-linux-gnu",
                                        "/usr/local/lib",
                                        "/usr/lib64",
                                        "/usr/lib",
                                        "/lib"};

// The client library as the process maps it, or else as installed on its root file system: uprobes
// sit on the file, so one attached before the process loads it (dlopen, or the exec of a wrapper)
// takes effect the moment it is mapped.
std::optional<std::string> locate_library(const TracedProcess& process, const char* object,
                                          const std::string& root) {
  if (auto mapped = find_mapped_object(process.mapped_files, object)) return mapped;
  for (const char* dir : kLibraryDirs) {
    std::error_code ec;
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(root + dir, ec)) {
      files.push_back(std::string(dir) + "/" + entry.path().filename().string());
    }
    if (auto installed = find_mapped_object(files, object)) return installed;
  }
  return std::nullopt;
}

}  // namespace

namespace {

void add_probes(pid_t pid, const std::string& path, const std::string& object,
                const std::vector<FunctionSymbol>& symbols,
                const std::vector<ApiFunction>& functions, std::vector<DbProbe>& probes) {
  for (const ApiFunction& function : functions) {
    // A function missing from an older library version is simply not traced.
    if (const FunctionSymbol* symbol = find_symbol(symbols, function.name)) {
      probes.push_back(DbProbe{.pid = pid,
                               .path = path,
                               .object = object,
                               .file_offset = symbol->file_offset,
                               .api = function.api,
                               .function = function.name});
    }
  }
}

// Some clients link their vendor's library statically (the `mariadb` command line client does):
// the executable then defines the API itself and is probed instead of any shared library.
bool defines_api(const std::vector<FunctionSymbol>& symbols,
                 const std::vector<ApiFunction>& functions) {
  return !functions.empty() && find_symbol(symbols, functions.front().name) != nullptr;
}

}  // namespace

std::vector<DbProbe> resolve_db_probes(const TracedProcess& process,
                                       const std::vector<DbVendor>& vendors) {
  std::vector<DbProbe> probes;
  const std::string root = proc_path(process.pid, "root");
  const std::string exe_path = proc_path(process.pid, "exe");
  // An executable or client library that cannot be read stops the agent (exit 2) rather than
  // leave the user believing its queries are traced.
  const auto exe_symbols = value_or_usage_error(read_function_symbols(exe_path));
  std::vector<DbVendor> in_executable;
  for (const ClientLibrary& library : client_libraries()) {
    if (!selected(vendors, library.vendor)) continue;
    if (selected(in_executable, library.vendor)) continue;
    if (defines_api(exe_symbols, functions_of(library))) {
      in_executable.push_back(library.vendor);
      add_probes(process.pid, exe_path, process.exe, exe_symbols, functions_of(library), probes);
      continue;
    }
    const auto object = locate_library(process, library.object, root);
    if (!object) continue;
    add_probes(process.pid, root + *object, *object,
               value_or_usage_error(read_function_symbols(root + *object)), functions_of(library),
               probes);
  }
  return probes;
}

std::vector<DbProbe> resolve_db_probes(const FileTarget& file,
                                       const std::vector<DbVendor>& vendors) {
  std::vector<DbProbe> probes;
  const auto symbols = value_or_usage_error(read_function_symbols(file.path));
  const auto vendor = client_library_vendor(file.object);
  std::vector<DbVendor> done;
  for (const ClientLibrary& library : client_libraries()) {
    if (!selected(vendors, library.vendor) || selected(done, library.vendor)) continue;
    if (vendor == library.vendor || defines_api(symbols, functions_of(library))) {
      done.push_back(library.vendor);
      add_probes(-1, file.path, file.object, symbols, functions_of(library), probes);
    }
  }
  return probes;
}

std::vector<FileTarget> installed_client_libraries(const std::string& root,
                                                   const std::vector<DbVendor>& vendors) {
  const TracedProcess nothing_mapped;
  std::vector<FileTarget> files;
  for (const ClientLibrary& library : client_libraries()) {
    if (!selected(vendors, library.vendor)) continue;
    const auto object = locate_library(nothing_mapped, library.object, root);
    if (!object) continue;
    try {
      files.push_back(file_target(root + *object, *object));
    } catch (const UsageError&) {
      // Gone between the directory listing and now: nothing to probe.
    }
  }
  return files;
}

std::optional<DbVendor> client_library_vendor(const std::string& path) {
  for (const ClientLibrary& library : client_libraries()) {
    if (find_mapped_object({path}, library.object)) return library.vendor;
  }
  return std::nullopt;
}

std::vector<DbVendor> vendors_defined_in(const std::vector<FunctionSymbol>& symbols) {
  std::vector<DbVendor> vendors;
  for (const ClientLibrary& library : client_libraries()) {
    if (!selected(vendors, library.vendor) && defines_api(symbols, functions_of(library))) {
      vendors.push_back(library.vendor);
    }
  }
  return vendors;
}

}  // namespace profilis
