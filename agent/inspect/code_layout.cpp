#include "agent/inspect/code_layout.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>

#include "agent/common/unique_fd.h"
#include "agent/inspect/elf_file.h"

namespace profilis {
namespace {

// Symbols only C++ code with exceptions refers to (defined or not): the personality routine its
// unwind tables name, and the runtime's throw and resume entries.
bool is_cxx_unwinding_symbol(std::string_view name) {
  return name == "__gxx_personality_v0" || name == "__cxa_throw" || name == "_Unwind_Resume" ||
         name == "__cxa_begin_catch";
}

std::string_view parent_of_cold_fragment(std::string_view name) {
  if (name.ends_with(".cold")) return name.substr(0, name.size() - 5);
  const auto at = name.find(".cold.");
  return at == std::string_view::npos ? std::string_view{} : name.substr(0, at);
}

void read_symbols(Elf* elf, Elf_Scn* scn, const GElf_Shdr& table,
                  const std::vector<GElf_Shdr>& sections, CodeLayout& layout) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || table.sh_entsize == 0) return;
  const std::size_t count = table.sh_size / table.sh_entsize;
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
    const char* name = elf_strptr(elf, table.sh_link, sym.st_name);
    if (name == nullptr || *name == '\0') continue;
    if (is_cxx_unwinding_symbol(name) && layout.language == CodeLanguage::c) {
      layout.language = CodeLanguage::cxx;
    }
    const std::string_view parent = parent_of_cold_fragment(name);
    if (parent.empty() || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
        sym.st_shndx >= sections.size()) {
      continue;
    }
    const auto offset = file_offset_in(sections[sym.st_shndx], sym.st_value);
    if (!offset) continue;
    layout.cold_fragments.emplace(std::string(parent),
                                  CodeRegion{sym.st_value, sym.st_size, *offset});
  }
}

}  // namespace

const char* to_string(CodeLanguage language) {
  switch (language) {
    case CodeLanguage::c:
      return "C";
    case CodeLanguage::cxx:
      return "C++";
    case CodeLanguage::go:
      return "Go";
  }
  return "?";
}

ElfResult<CodeLayout> read_code_layout(const std::string& elf_path) {
  const auto elf = ElfFile::open(elf_path, "code");
  if (!elf) return elf.error();
  const auto read = section_headers(*elf);
  if (!read) return read.error();
  const std::vector<GElf_Shdr>& sections = *read;
  std::size_t names = 0;
  if (elf_getshdrstrndx(elf->get(), &names) != 0) return elf->unreadable(elf_errmsg(-1));
  CodeLayout layout;
  bool go = false;
  for (Elf_Scn* scn = elf_nextscn(elf->get(), nullptr); scn != nullptr;
       scn = elf_nextscn(elf->get(), scn)) {
    const GElf_Shdr& header = sections[elf_ndxscn(scn)];
    const char* raw = elf_strptr(elf->get(), names, header.sh_name);
    const std::string_view name = raw == nullptr ? "" : raw;
    if (name == ".go.buildinfo" || name == ".gopclntab" || name == ".note.go.buildid") go = true;
    if (name == ".plt" || name == ".plt.sec" || name == ".plt.got") {
      layout.plt.push_back({header.sh_addr, header.sh_size, header.sh_offset});
    }
    if (header.sh_type == SHT_SYMTAB || header.sh_type == SHT_DYNSYM) {
      read_symbols(elf->get(), scn, header, sections, layout);
    }
  }
  if (go) layout.language = CodeLanguage::go;
  return layout;
}

ElfResult<std::vector<std::uint8_t>> read_code(const std::string& elf_path,
                                               std::uint64_t file_offset, std::uint64_t size) {
  const auto error = [&](const std::string& reason) {
    return ElfError{"cannot read code of " + elf_path + ": " + reason};
  };
  unique_fd fd(::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return error(std::strerror(errno));
  std::vector<std::uint8_t> bytes(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd.get(), bytes.data() + done, size - done, static_cast<off_t>(file_offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error(std::strerror(errno));
    if (n == 0) return error("the file ends inside a function's code");
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

}  // namespace profilis
