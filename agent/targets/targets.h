// Target resolution: from a pid and a --fn SPEC to the exact files and offsets to probe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/targets/return_probes.h"

namespace profilis {

struct TracedProcess {
  pid_t pid = 0;
  std::string comm;
  std::string exe;  // the executable's path as the process sees it
  std::vector<std::string> mapped_files;
  std::string maps;  // /proc/PID/maps as read when mapped_files was
};

// "/proc/PID/LEAF". Through /proc/PID/exe and /proc/PID/root a file opens as the target sees it,
// even inside another mount namespace.
std::string proc_path(pid_t pid, std::string_view leaf);

// The process's name (/proc/PID/comm); empty when it is gone.
std::string process_comm(pid_t pid);

// Reads /proc/PID. Throws UsageError when there is no such process.
TracedProcess inspect_process(pid_t pid);

// A file of the process: as the process maps it (for messages), and the path that opens it.
struct ObjectFile {
  std::string object;
  std::string path;
};

// OBJECT of a --fn or --usdt spec: a path or a library name as mapped ("libc.so.6"); empty for the
// main executable. Throws UsageError, listing the mapped libraries, when the process maps no such
// file.
ObjectFile locate_object_file(const TracedProcess& process, const std::string& object);

struct FnSpec {
  std::string object;   // empty: the main executable
  std::string pattern;  // a name or glob, mangled or demangled
};

// "[OBJECT:]PATTERN". The first ':' that is not part of a C++ "::" separates the object, so
// "ns::fn" is a pattern and "libc.so.6:malloc" is an object and a pattern.
FnSpec parse_fn_spec(std::string_view spec);

struct FunctionProbe {
  pid_t pid = 0;
  std::string path;    // through /proc/PID so that it opens the target's file even in a container
  std::string object;  // for messages: the path as the target maps it
  std::uint64_t file_offset = 0;
  std::string name;  // as reported in events: demangled for C++
  ReturnPlan returns;
  bool aggregate = false;  // --aggregate: added up in the kernel, no event per call
};

// Drops every probe that repeats an earlier one's site (process, file, offset), keeping the order:
// a function several --fn patterns match is probed once, so each call is one event.
void drop_repeated_sites(std::vector<FunctionProbe>& probes);

// A file probed for every process that maps it (--binary, --node): its probes have pid -1, and it
// is attached once per (device, inode) however many paths and processes reach it.
struct FileTarget {
  std::string path;    // opens it (through /proc/PID/root for a container's own copy)
  std::string object;  // for messages: the path as given or as the process maps it
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

// The regular file at `path` (`object` names it in messages). Throws UsageError when there is no
// such file or it is not a regular file.
FileTarget file_target(const std::string& path, const std::string& object);

// Every function of `spec` in the process, one probe per distinct code address, with its returns
// planned by `returns`. Throws UsageError when the object is not mapped, is not ELF that can be
// read, or nothing matches (naming up to five close matches), or when no matching function's
// returns can be probed safely (naming it and why). A function refused among others that can be
// probed is left out with a warning on stderr.
std::vector<FunctionProbe> resolve_functions(const TracedProcess& process, const FnSpec& spec,
                                             ReturnChoice returns);
// The same in a file, for every process (pid -1); the spec's OBJECT must be empty.
std::vector<FunctionProbe> resolve_functions(const FileTarget& file, const FnSpec& spec,
                                             ReturnChoice returns);

}  // namespace profilis
