#include "agent/inspect/symbols.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <tuple>
#include <utility>

#include "agent/common/edit_distance.h"
#include "agent/common/glob.h"
#include "agent/inspect/demangle.h"
#include "agent/inspect/elf_file.h"

namespace profilis {
namespace {

// Indexed like st_shndx, so a symbol finds its section directly.
// GCC's hot/cold splitting names the cold part "f.cold" (older GCC: "f.cold.12") and types it
// STT_FUNC, but it is entered by a jump from inside f: a return probe there would time f's caller.
bool is_cold_fragment(std::string_view name) {
  return name.ends_with(".cold") || name.find(".cold.") != std::string_view::npos;
}

bool is_wanted(const GElf_Sym& sym) {
  // STT_GNU_IFUNC is left out on purpose: its value is the resolver, not the implementation.
  // Reserved indexes (SHN_ABS, SHN_COMMON, SHN_XINDEX) have no section to take an offset from.
  return GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF &&
         sym.st_shndx < SHN_LORESERVE && sym.st_value != 0;
}

bool file_offset_of(const GElf_Sym& sym, const std::vector<GElf_Shdr>& sections,
                    std::uint64_t& offset) {
  if (sym.st_shndx >= sections.size()) return false;
  const auto in_file = file_offset_in(sections[sym.st_shndx], sym.st_value);
  if (in_file) offset = *in_file;
  return in_file.has_value();
}

void read_symbol_table(Elf* elf, Elf_Scn* scn, const GElf_Shdr& table,
                       const std::vector<GElf_Shdr>& sections, std::vector<FunctionSymbol>& out) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || table.sh_entsize == 0) return;
  std::size_t count = table.sh_size / table.sh_entsize;
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr || !is_wanted(sym)) continue;
    const char* name = elf_strptr(elf, table.sh_link, sym.st_name);
    FunctionSymbol symbol;
    if (name == nullptr || *name == '\0' || is_cold_fragment(name) ||
        !file_offset_of(sym, sections, symbol.file_offset)) {
      continue;
    }
    symbol.name = name;
    symbol.address = sym.st_value;
    symbol.size = sym.st_size;
    symbol.global = GELF_ST_BIND(sym.st_info) == STB_GLOBAL;
    symbol.from_symtab = table.sh_type == SHT_SYMTAB;
    out.push_back(std::move(symbol));
  }
}

// Exported functions sit in both tables; two `static` functions of one name in different
// translation units do not share an address, so (address, name) is the identity, not the name.
void drop_duplicates(std::vector<FunctionSymbol>& symbols) {
  std::sort(symbols.begin(), symbols.end(), [](const auto& a, const auto& b) {
    return std::tie(a.address, a.name, b.from_symtab) < std::tie(b.address, b.name, a.from_symtab);
  });
  auto same = [](const auto& a, const auto& b) {
    return a.address == b.address && a.name == b.name;
  };
  symbols.erase(std::unique(symbols.begin(), symbols.end(), same), symbols.end());
}

// Which of several matching aliases at one offset to report.
bool preferred_alias(const FunctionSymbol& a, const FunctionSymbol& b) {
  return std::make_tuple(!a.from_symtab, !a.global, a.name.size(), std::string_view(a.name)) <
         std::make_tuple(!b.from_symtab, !b.global, b.name.size(), std::string_view(b.name));
}

std::string display_name(const FunctionSymbol& symbol) {
  if (symbol.demangled.empty()) return symbol.name;
  return std::string(without_parameters(symbol.demangled));
}

std::string without_wildcards(std::string_view pattern) {
  std::string literal;
  std::copy_if(pattern.begin(), pattern.end(), std::back_inserter(literal),
               [](char c) { return c != '*' && c != '?'; });
  return literal;
}

}  // namespace

ElfResult<std::vector<FunctionSymbol>> read_function_symbols(const std::string& elf_path) {
  const auto elf = ElfFile::open(elf_path, "symbols");
  if (!elf) return elf.error();
  const auto read = section_headers(*elf);
  if (!read) return read.error();
  const std::vector<GElf_Shdr>& sections = *read;
  std::vector<FunctionSymbol> symbols;
  for (Elf_Scn* scn = elf_nextscn(elf->get(), nullptr); scn != nullptr;
       scn = elf_nextscn(elf->get(), scn)) {
    const GElf_Shdr& header = sections[elf_ndxscn(scn)];
    if (header.sh_type == SHT_SYMTAB || header.sh_type == SHT_DYNSYM) {
      read_symbol_table(elf->get(), scn, header, sections, symbols);
    }
  }
  drop_duplicates(symbols);
  for (FunctionSymbol& symbol : symbols) symbol.demangled = demangle(symbol.name);
  return symbols;
}

bool symbol_matches(std::string_view pattern, const FunctionSymbol& symbol) {
  if (glob_match(pattern, symbol.name)) return true;
  if (symbol.demangled.empty()) return false;
  return glob_match(pattern, symbol.demangled) ||
         glob_match(pattern, without_return_type(symbol.demangled)) ||
         glob_match(pattern, without_parameters(symbol.demangled));
}

std::vector<FunctionSymbol> match_functions(std::string_view pattern,
                                            const std::vector<FunctionSymbol>& symbols) {
  std::vector<FunctionSymbol> matched;
  std::copy_if(symbols.begin(), symbols.end(), std::back_inserter(matched),
               [&](const FunctionSymbol& symbol) { return symbol_matches(pattern, symbol); });
  std::sort(matched.begin(), matched.end(), [](const auto& a, const auto& b) {
    if (a.file_offset != b.file_offset) return a.file_offset < b.file_offset;
    return preferred_alias(a, b);
  });
  auto same_offset = [](const auto& a, const auto& b) { return a.file_offset == b.file_offset; };
  matched.erase(std::unique(matched.begin(), matched.end(), same_offset), matched.end());
  return matched;
}

std::vector<std::string> closest_names(std::string_view pattern,
                                       const std::vector<FunctionSymbol>& symbols,
                                       std::size_t limit) {
  std::vector<std::string> names;
  names.reserve(symbols.size());
  std::transform(symbols.begin(), symbols.end(), std::back_inserter(names), display_name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  // A glob that matched nothing is still a hint: compare with what is left of it.
  const std::string wanted = without_wildcards(pattern);
  struct Candidate {
    bool contains;
    std::size_t distance;
    const std::string* name;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(names.size());
  for (const std::string& name : names) {
    candidates.push_back(
        {name.find(wanted) != std::string::npos, edit_distance(wanted, name), &name});
  }
  auto rank = [](const Candidate& c) {
    return std::make_tuple(!c.contains, c.distance, std::string_view(*c.name));
  };
  std::size_t keep = std::min(limit, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                    [&](const auto& a, const auto& b) { return rank(a) < rank(b); });

  std::vector<std::string> result;
  for (std::size_t i = 0; i < keep; ++i) result.push_back(*candidates[i].name);
  return result;
}

}  // namespace profilis
