#include "agent/list/list_model.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "agent/common/glob.h"

namespace profilis {

std::vector<ListedFunction> list_functions(const std::string& object,
                                           const std::vector<FunctionSymbol>& symbols,
                                           std::string_view filter) {
  // "*" matches every name, so match_functions alone decides which alias stands for an address.
  const auto chosen = match_functions(filter.empty() ? "*" : filter, symbols);
  std::vector<ListedFunction> functions;
  functions.reserve(chosen.size());
  for (const FunctionSymbol& symbol : chosen) {
    functions.push_back(ListedFunction{
        .name = symbol.demangled.empty() ? symbol.name : symbol.demangled,
        .mangled = symbol.name,
        .object = object,
        .address = symbol.address,
        .size = symbol.size,
    });
  }
  return functions;
}

std::vector<ListedProbe> list_probes(const std::string& object, const std::vector<UsdtNote>& notes,
                                     std::string_view filter) {
  std::vector<ListedProbe> probes;
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> index;
  for (const UsdtNote& note : notes) {
    if (!filter.empty() && !glob_match(filter, note.provider + ":" + note.name)) continue;
    const auto [it, added] = index.try_emplace({note.provider, note.name}, probes.size());
    if (added) {
      probes.push_back(ListedProbe{.object = object,
                                   .provider = note.provider,
                                   .name = note.name,
                                   .arguments = note.arguments});
    }
    ListedProbe& probe = probes[it->second];
    probe.semaphore = probe.semaphore || note.semaphore != 0;
    ++probe.sites;
  }
  return probes;
}

void sort_listing(Listing& listing) {
  auto& functions = listing.functions;
  std::sort(functions.begin(), functions.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.object, a.address, a.mangled) <
           std::tie(b.name, b.object, b.address, b.mangled);
  });
  auto& usdt = listing.usdt;
  std::sort(usdt.begin(), usdt.end(), [](const auto& a, const auto& b) {
    return std::tie(a.provider, a.name, a.object) < std::tie(b.provider, b.name, b.object);
  });
  auto& libraries = listing.db_libraries;
  auto key = [](const ListedDbLibrary& l) {
    return std::make_tuple(std::string_view(vendor_name(l.vendor)), std::string_view(l.object));
  };
  std::sort(libraries.begin(), libraries.end(), [&](const auto& a, const auto& b) {
    return std::make_tuple(key(a), a.found) < std::make_tuple(key(b), b.found);
  });
  libraries.erase(std::unique(libraries.begin(), libraries.end(),
                              [&](const auto& a, const auto& b) { return key(a) == key(b); }),
                  libraries.end());
}

const char* found_name(DbFound found) {
  switch (found) {
    case DbFound::kMapped:
      return "mapped";
    case DbFound::kNeeded:
      return "needed";
    case DbFound::kItself:
      return "itself";
    case DbFound::kStatic:
      return "static";
  }
  return "unknown";
}

}  // namespace profilis
