// USDT probes (SystemTap SDT notes, .note.stapsdt) an ELF file declares.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/inspect/elf_result.h"

namespace profilis {

struct UsdtNote {
  std::string provider;
  std::string name;
  std::string arguments;        // e.g. "8@%rbx -4@%eax"
  std::uint64_t address = 0;    // of the probe site (a NOP)
  std::uint64_t semaphore = 0;  // 0 when the probe is not guarded by an is-enabled semaphore
  // Where the site and the semaphore are in the file, for a uprobe and its reference counter;
  // empty when no section of the file holds them.
  std::optional<std::uint64_t> site_offset;
  std::optional<std::uint64_t> semaphore_offset;
};

// Every note in the file, in file order; an error when the file is not ELF that can be read.
ElfResult<std::vector<UsdtNote>> read_usdt_notes(const std::string& elf_path);

bool has_usdt_probe(const std::vector<UsdtNote>& notes, const std::string& provider,
                    const std::string& name);

}  // namespace profilis
