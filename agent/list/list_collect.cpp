#include "agent/list/list_collect.h"

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>

#include "agent/common/errors.h"
#include "agent/common/unique_fd.h"
#include "agent/inspect/elf_file.h"
#include "agent/targets/db_targets.h"
#include "agent/targets/targets.h"

namespace profilis {
namespace {

// Processes map plenty of files that are not code (locale-archive, gconv caches, fonts): a look at
// the magic number tells them apart from ELF files that fail to read for a real reason.
bool has_elf_magic(const std::string& path) {
  const unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return true;  // let the ELF reader report why it cannot be opened
  std::array<char, SELFMAG> magic{};
  return ::read(fd.get(), magic.data(), magic.size()) == SELFMAG &&
         std::memcmp(magic.data(), ELFMAG, SELFMAG) == 0;
}

// Functions and probes of one file into `listing`; the symbols are returned for the DB checks. When
// the file cannot be read, nothing is added and the error says why.
ElfResult<std::vector<FunctionSymbol>> add_object(Listing& listing, const std::string& path,
                                                  const std::string& object) {
  auto symbols = read_function_symbols(path);
  if (!symbols) return symbols;
  const auto notes = read_usdt_notes(path);
  if (!notes) return notes.error();
  auto functions = list_functions(object, *symbols, listing.filter);
  auto probes = list_probes(object, *notes, listing.filter);
  listing.functions.insert(listing.functions.end(), std::make_move_iterator(functions.begin()),
                           std::make_move_iterator(functions.end()));
  listing.usdt.insert(listing.usdt.end(), std::make_move_iterator(probes.begin()),
                      std::make_move_iterator(probes.end()));
  ++listing.objects;
  return symbols;
}

void add_static_vendors(Listing& listing, const std::vector<FunctionSymbol>& symbols,
                        const std::string& object, std::optional<DbVendor> itself) {
  for (const DbVendor vendor : vendors_defined_in(symbols)) {
    if (vendor != itself) listing.db_libraries.push_back({vendor, object, DbFound::kStatic});
  }
}

}  // namespace

Listing collect_process(pid_t pid, std::string_view filter) {
  const TracedProcess process = inspect_process(pid);
  Listing listing;
  listing.filter = std::string(filter);
  const auto exe_symbols =
      value_or_usage_error(add_object(listing, proc_path(pid, "exe"), process.exe));
  add_static_vendors(listing, exe_symbols, process.exe, std::nullopt);
  const std::string root = proc_path(pid, "root");
  for (const std::string& mapped : process.mapped_files) {
    if (mapped == process.exe || !has_elf_magic(root + mapped)) continue;
    if (const auto added = add_object(listing, root + mapped, mapped); !added) {
      listing.skipped.push_back(added.error().message);
      continue;
    }
    if (const auto vendor = client_library_vendor(mapped)) {
      listing.db_libraries.push_back({*vendor, mapped, DbFound::kMapped});
    }
  }
  sort_listing(listing);
  return listing;
}

Listing collect_binary(const std::string& path, std::string_view filter) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError("cannot list " + path + ": a directory, not an ELF file");
  }
  Listing listing;
  listing.filter = std::string(filter);
  const auto symbols = value_or_usage_error(add_object(listing, path, path));
  const auto itself = client_library_vendor(path);
  if (itself) listing.db_libraries.push_back({*itself, path, DbFound::kItself});
  add_static_vendors(listing, symbols, path, itself);
  for (const std::string& needed : value_or_usage_error(needed_libraries(path))) {
    if (const auto vendor = client_library_vendor(needed)) {
      listing.db_libraries.push_back({*vendor, needed, DbFound::kNeeded});
    }
  }
  sort_listing(listing);
  return listing;
}

ElfResult<std::vector<std::string>> needed_libraries(const std::string& elf_path) {
  const auto elf = ElfFile::open(elf_path, "dynamic section");
  if (!elf) return elf.error();
  std::vector<std::string> needed;
  for (Elf_Scn* scn = elf_nextscn(elf->get(), nullptr); scn != nullptr;
       scn = elf_nextscn(elf->get(), scn)) {
    GElf_Shdr header;
    if (gelf_getshdr(scn, &header) == nullptr || header.sh_type != SHT_DYNAMIC) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || header.sh_entsize == 0) continue;
    for (std::size_t i = 0; i < header.sh_size / header.sh_entsize; ++i) {
      GElf_Dyn entry;
      if (gelf_getdyn(data, static_cast<int>(i), &entry) == nullptr) break;
      if (entry.d_tag == DT_NULL) break;
      if (entry.d_tag != DT_NEEDED) continue;
      // d_val is an offset into the string table the section header links to.
      if (const char* name = elf_strptr(elf->get(), header.sh_link, entry.d_un.d_val)) {
        needed.emplace_back(name);
      }
    }
  }
  return needed;
}

}  // namespace profilis
