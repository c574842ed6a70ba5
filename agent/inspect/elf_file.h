// An ELF file opened for reading with libelf: the file descriptor and the Elf handle, both owned.
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace profilis {

class ElfFile {
 public:
  // Throws UsageError naming the path and the reason (missing, unreadable, not ELF); `what` says
  // what was being read, for the message ("symbols", "USDT notes").
  ElfFile(const std::string& path, const std::string& what);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  Elf* get() const { return elf_; }
  // "cannot read <what> of <path>: <reason>", for errors found while reading.
  std::string unreadable(const std::string& reason) const;

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
  Elf* elf_ = nullptr;
};

// Every section header of the file, by index. Throws UsageError when they cannot be read.
std::vector<GElf_Shdr> section_headers(const ElfFile& file);

// Where `address` lies in the file, when `section` holds it and has contents in the file: the
// arithmetic libbpf's uprobe offsets use (the section maps its address range onto its file range).
// For PIE and shared objects .text usually has address == offset, for non-PIE executables it does
// not (0x401000 vs 0x1000), so taking the address as the offset only works by accident.
std::optional<std::uint64_t> file_offset_in(const GElf_Shdr& section, std::uint64_t address);

}  // namespace profilis
