// An ELF file opened for reading with libelf: the file descriptor and the Elf handle, both owned.
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/common/unique_fd.h"
#include "agent/inspect/elf_result.h"

namespace profilis {

class ElfFile {
 public:
  // The file, or why it cannot be read (missing, unreadable, not ELF); `what` says what was being
  // read, for the message ("symbols", "USDT notes").
  static ElfResult<ElfFile> open(const std::string& path, const std::string& what);

  Elf* get() const { return elf_.get(); }
  // "cannot read <what> of <path>: <reason>", for errors found while reading.
  ElfError unreadable(const std::string& reason) const;

 private:
  struct ElfEnd {
    void operator()(Elf* elf) const { elf_end(elf); }
  };

  ElfFile(std::string path, std::string what, unique_fd fd, std::unique_ptr<Elf, ElfEnd> elf);

  std::string path_;
  std::string what_;
  unique_fd fd_;  // declared first: libelf reads it until elf_end
  std::unique_ptr<Elf, ElfEnd> elf_;
};

// Every section header of the file, by index; an error when they cannot be read.
ElfResult<std::vector<GElf_Shdr>> section_headers(const ElfFile& file);

// Where `address` lies in the file, when `section` holds it and has contents in the file: the
// arithmetic libbpf's uprobe offsets use (the section maps its address range onto its file range).
// For PIE and shared objects .text usually has address == offset, for non-PIE executables it does
// not (0x401000 vs 0x1000), so taking the address as the offset only works by accident.
std::optional<std::uint64_t> file_offset_in(const GElf_Shdr& section, std::uint64_t address);

// The file offset of the section called `name` in the ELF file at `path`, when it has one with
// contents in the file; an error when the file cannot be read.
ElfResult<std::optional<std::uint64_t>> section_file_offset(const std::string& path,
                                                            const std::string& name);

}  // namespace profilis
