// What the return probes of a file's functions depend on besides each function's own code: the
// language the file was built from (whether C++ exceptions or Go stack copies can pass a return
// address), where its PLT stubs and cold fragments lie, and the code bytes themselves.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/inspect/elf_result.h"

namespace profilis {

enum class CodeLanguage {
  c,    // no C++ unwinding machinery: nothing unwinds through its functions
  cxx,  // refers to the C++ personality routine or the unwinder: exceptions pass its frames
  go,   // a Go executable: goroutine stacks move when they grow
};

const char* to_string(CodeLanguage language);

struct CodeRegion {
  std::uint64_t address = 0;
  std::uint64_t size = 0;
  std::uint64_t file_offset = 0;
};

struct CodeLayout {
  CodeLanguage language = CodeLanguage::c;
  std::vector<CodeRegion> plt;  // .plt, .plt.sec, .plt.got: a jump there is a call elsewhere
  // GCC's cold fragments by the symbol name of the function they were split from ("f" for
  // "f.cold" and "f.cold.3").
  std::multimap<std::string, CodeRegion> cold_fragments;
};

ElfResult<CodeLayout> read_code_layout(const std::string& elf_path);

// `size` bytes of the file at `file_offset`; an error when the file is shorter.
ElfResult<std::vector<std::uint8_t>> read_code(const std::string& elf_path,
                                               std::uint64_t file_offset, std::uint64_t size);

}  // namespace profilis
