// Reading what `profilis-agent list` shows, from a running process or from one ELF file.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "agent/inspect/elf_result.h"
#include "agent/list/list_model.h"

namespace profilis {

// The executable of `pid` and every ELF file it maps, each read through /proc/PID (exe, root), so
// that a process in another mount namespace is read as it sees its files. Mapped files that are
// not ELF (locale archives, caches) are passed over; ELF files that cannot be read are noted in
// `skipped`. Throws UsageError when there is no such process or its executable cannot be read.
Listing collect_process(pid_t pid, std::string_view filter);

// One ELF file, and the DB client libraries it links (DT_NEEDED), is, or contains. Throws
// UsageError when the file is missing or not ELF.
Listing collect_binary(const std::string& path, std::string_view filter);

// The DT_NEEDED entries of an ELF file: the library names it asks the dynamic loader for, in
// order. Empty for a static executable. An error when the file is not ELF that can be read.
ElfResult<std::vector<std::string>> needed_libraries(const std::string& elf_path);

}  // namespace profilis
