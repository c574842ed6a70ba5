// Function symbols of one ELF file, and where in the file a uprobe for each must go.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inspect/elf_result.h"

namespace profilis {

struct FunctionSymbol {
  std::string name;       // as in the symbol table (mangled for C++)
  std::string demangled;  // empty when `name` is not a mangled C++ name
  std::uint64_t address = 0;
  std::uint64_t file_offset = 0;  // what the kernel's uprobe wants: offset in the file, not address
  std::uint64_t size = 0;
  bool global = false;       // STB_GLOBAL: among aliases, the name other code links against
  bool from_symtab = false;  // seen in .symtab (the full table), not only in .dynsym
};

// Every defined function (STT_FUNC, non-zero address) in .symtab and .dynsym. A name that appears
// in both tables is listed once. Aliases (several names at one address) are all listed. GNU ifuncs
// are left out (their address is the resolver's), and so are GCC's ".cold" fragments, which are
// jump targets inside a function, not entries. Sorted by address, then name. An error when the
// file cannot be opened or is not ELF.
ElfResult<std::vector<FunctionSymbol>> read_function_symbols(const std::string& elf_path);

// True when `pattern` (a name or a glob) matches the mangled name, the demangled name, the
// demangled name without its parameter list ("ns::Cls::fn" for "ns::Cls::fn(int)"), or without the
// return type a template function carries ("ns::twice<int>(int)" for "int ns::twice<int>(int)").
bool symbol_matches(std::string_view pattern, const FunctionSymbol& symbol);

// The symbols that `pattern` matches, one per file offset (so aliases are probed once), sorted by
// file offset. Of aliases, the one kept is a name that matched, preferring .symtab, global binding,
// then the shortest name.
std::vector<FunctionSymbol> match_functions(std::string_view pattern,
                                            const std::vector<FunctionSymbol>& symbols);

// Up to `limit` names closest to `pattern` (edit distance, preferring names that contain it),
// demangled where possible, for "did you mean" messages.
std::vector<std::string> closest_names(std::string_view pattern,
                                       const std::vector<FunctionSymbol>& symbols,
                                       std::size_t limit = 5);

}  // namespace profilis
