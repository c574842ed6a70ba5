// What `profilis-agent list` reports, and how it is built from what the ELF readers return. No
// file access here: agent/list_collect.h reads the files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/db_types.h"
#include "agent/inspect/symbols.h"
#include "agent/inspect/usdt_notes.h"

namespace profilis {

struct ListedFunction {
  std::string name;     // demangled for C++, with its parameters; else the symbol name
  std::string mangled;  // the symbol name as in the symbol table
  std::string object;   // the file, as the target maps it (or as given with --binary)
  std::uint64_t address = 0;
  std::uint64_t size = 0;
};

struct ListedProbe {
  std::string object;
  std::string provider;
  std::string name;
  std::string arguments;  // of the first site in the file: other sites may use other registers
  bool semaphore = false;
  std::size_t sites = 0;
};

// How a DB client library was found.
enum class DbFound {
  kMapped,  // the process maps it
  kNeeded,  // the binary links it (DT_NEEDED); `object` is then the name it asks for
  kItself,  // the binary is the library
  kStatic,  // the executable defines the library's API itself (linked statically)
};

struct ListedDbLibrary {
  DbVendor vendor = DbVendor::kPostgresql;
  std::string object;
  DbFound found = DbFound::kMapped;
};

struct Listing {
  std::vector<ListedFunction> functions;
  std::vector<ListedProbe> usdt;
  std::vector<ListedDbLibrary> db_libraries;
  std::size_t objects = 0;           // ELF files read
  std::string filter;                // empty: everything is listed
  std::vector<std::string> skipped;  // mapped files that could not be read, with the reason
};

// The functions of one object, aliases at one address shown once (chosen as match_functions
// chooses), those `filter` matches when it is not empty. In symbol order; sort_listing sorts.
std::vector<ListedFunction> list_functions(const std::string& object,
                                           const std::vector<FunctionSymbol>& symbols,
                                           std::string_view filter);

// The probes of one object, one entry per provider:name however many sites it has; when `filter`
// is not empty only those whose "provider:name" it matches.
std::vector<ListedProbe> list_probes(const std::string& object, const std::vector<UsdtNote>& notes,
                                     std::string_view filter);

// Functions by name, then object and address; probes by provider, name and object; libraries by
// vendor and object. Libraries found twice (by two routes) are kept once.
void sort_listing(Listing& listing);

const char* found_name(DbFound found);  // "mapped", "needed", "itself", "static"

}  // namespace profilis
