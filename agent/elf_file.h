// An ELF file opened for reading with libelf: the file descriptor and the Elf handle, both owned.
#pragma once

#include <libelf.h>

#include <string>

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

}  // namespace profilis
