// Reading what a process maps, from /proc/PID/maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace profilis {

// Distinct file paths mapped by the process, in the order they first appear. Anonymous mappings,
// pseudo files ([heap], [vdso], ...) and deleted files are left out.
std::vector<std::string> parse_mapped_files(std::string_view maps_text);

// The mapped path that `object` names: a path (compared as given), or a file name such as
// "libc.so.6" or "libpq.so.5" that equals a mapped file's base name or is a prefix of it up to a
// dot (so "libpq.so.5" finds "libpq.so.5.15"). An exact base name is preferred over a prefix.
std::optional<std::string> find_mapped_object(const std::vector<std::string>& mapped,
                                              std::string_view object);

// A mapping of part of a file: [start, end) in memory shows the file from `file_offset` on.
struct FileMapping {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t file_offset = 0;
};

// The longest run of adjacent readable, non-writable mappings of the file at `path` (as the maps
// name it): memory that holds the file's own bytes (code, constants), in address order. Empty
// when the process maps none.
std::vector<FileMapping> read_only_run(std::string_view maps_text, std::string_view path);

}  // namespace profilis
