#include "agent/inspect/elf_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "agent/common/errors.h"

namespace profilis {
namespace {

// libelf refuses to work until told which ELF version the caller understands.
void init_libelf() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!ready) throw RuntimeError(std::string("libelf: ") + elf_errmsg(-1));
}

}  // namespace

ElfResult<ElfFile> ElfFile::open(const std::string& path, const std::string& what) {
  init_libelf();
  const auto error = [&](const std::string& reason) {
    return ElfError{"cannot read " + what + " of " + path + ": " + reason};
  };
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return error(std::strerror(errno));
  std::unique_ptr<Elf, ElfEnd> elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
  if (!elf) return error(elf_errmsg(-1));
  if (elf_kind(elf.get()) != ELF_K_ELF) return error("not an ELF file");
  return ElfFile(path, what, std::move(fd), std::move(elf));
}

ElfFile::ElfFile(std::string path, std::string what, unique_fd fd, std::unique_ptr<Elf, ElfEnd> elf)
    : path_(std::move(path)), what_(std::move(what)), fd_(std::move(fd)), elf_(std::move(elf)) {}

ElfError ElfFile::unreadable(const std::string& reason) const {
  return ElfError{"cannot read " + what_ + " of " + path_ + ": " + reason};
}

ElfResult<std::vector<GElf_Shdr>> section_headers(const ElfFile& file) {
  Elf* elf = file.get();
  std::size_t count = 0;
  if (elf_getshdrnum(elf, &count) != 0) return file.unreadable(elf_errmsg(-1));
  std::vector<GElf_Shdr> headers(count);
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    std::size_t index = elf_ndxscn(scn);
    if (index >= count || gelf_getshdr(scn, &headers[index]) == nullptr) {
      return file.unreadable(elf_errmsg(-1));
    }
  }
  return headers;
}

std::optional<std::uint64_t> file_offset_in(const GElf_Shdr& section, std::uint64_t address) {
  const bool in_file = section.sh_type != SHT_NOBITS;  // e.g. .text in a separate debug-info file
  const bool inside = address >= section.sh_addr && address - section.sh_addr < section.sh_size;
  if (!in_file || !inside) return std::nullopt;
  return address - section.sh_addr + section.sh_offset;
}

ElfResult<std::optional<std::uint64_t>> section_file_offset(const std::string& path,
                                                            const std::string& name) {
  auto file = ElfFile::open(path, "sections");
  if (!file) return file.error();
  std::size_t names = 0;
  if (elf_getshdrstrndx(file->get(), &names) != 0) return file->unreadable(elf_errmsg(-1));
  auto headers = section_headers(*file);
  if (!headers) return headers.error();
  for (const GElf_Shdr& header : *headers) {
    const char* section = elf_strptr(file->get(), names, header.sh_name);
    if (section != nullptr && name == section && header.sh_type != SHT_NOBITS) {
      return std::optional<std::uint64_t>(header.sh_offset);
    }
  }
  return std::optional<std::uint64_t>();
}

}  // namespace profilis
