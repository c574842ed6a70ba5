#include "agent/inspect/elf_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "agent/common/errors.h"

namespace profilis {
namespace {

// libelf refuses to work until told which ELF version the caller understands.
void init_libelf() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!ready) throw RuntimeError(std::string("libelf: ") + elf_errmsg(-1));
}

}  // namespace

ElfFile::ElfFile(const std::string& path, const std::string& what) : path_(path), what_(what) {
  init_libelf();
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw UsageError(errno_message("cannot read " + what + " of " + path, errno));
  elf_ = elf_begin(fd_, ELF_C_READ, nullptr);
  if (elf_ == nullptr || elf_kind(elf_) != ELF_K_ELF) {
    const std::string reason = elf_ == nullptr ? elf_errmsg(-1) : "not an ELF file";
    if (elf_ != nullptr) elf_end(elf_);
    ::close(fd_);
    throw UsageError("cannot read " + what + " of " + path + ": " + reason);
  }
}

ElfFile::~ElfFile() {
  elf_end(elf_);
  ::close(fd_);
}

std::string ElfFile::unreadable(const std::string& reason) const {
  return "cannot read " + what_ + " of " + path_ + ": " + reason;
}

std::vector<GElf_Shdr> section_headers(const ElfFile& file) {
  Elf* elf = file.get();
  std::size_t count = 0;
  if (elf_getshdrnum(elf, &count) != 0) throw UsageError(file.unreadable(elf_errmsg(-1)));
  std::vector<GElf_Shdr> headers(count);
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    std::size_t index = elf_ndxscn(scn);
    if (index >= count || gelf_getshdr(scn, &headers[index]) == nullptr) {
      throw UsageError(file.unreadable(elf_errmsg(-1)));
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

}  // namespace profilis
