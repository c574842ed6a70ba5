// --python-fn: which Python functions to trace, and where a CPython process's USDT probes are.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/targets/targets.h"

namespace profilis {

// "[FILE_GLOB:]FUNC_GLOB": FUNC_GLOB matches a function's name (co_name), FILE_GLOB the base name
// of its file (co_filename after the last '/').
struct PythonFnSpec {
  std::string file_glob;  // empty: every file
  std::string function_glob;
  bool aggregate = false;  // --aggregate: its calls are added up in the kernel
};

// Throws UsageError for an empty glob, a glob the kernel cannot hold (64 characters or more once
// runs of '*' are collapsed) or one with characters other globs would treat as special ([, ], \).
// The last ':' separates the file glob: a function name has none.
PythonFnSpec parse_python_fn_spec(std::string_view spec);

// The file of a Python process (its executable or libpython) with CPython's function__entry and
// function__return probes, and what turning them on takes.
struct PythonProbes {
  pid_t pid = 0;                     // -1: every process running the file
  std::string path;                  // opens the file (through /proc/PID)
  std::string object;                // as the process maps it, for messages
  std::uint64_t line_semaphore = 0;  // python:line's semaphore (file offset), 0 when it has none
  std::uint64_t enable_offset = 0;   // the start of .init: code the process never runs again
  // Set when every site of both probes passes the file and function names in %rbp and %r12 (as
  // Debian's python3.11 does) and was found in the file: the agent then attaches plain uprobes
  // that read those registers, cheaper than USDT probes. Otherwise it attaches by USDT note.
  bool register_arguments = false;
  struct Sites {
    std::vector<std::uint64_t> offsets;
    std::vector<std::uint64_t> semaphores;  // one per offset (0: unguarded)
  };
  Sites entry_sites, return_sites;  // function__entry, function__return
};

// Throws UsageError when the process is not Python, or is a Python built without its USDT probes
// (naming its executable).
PythonProbes resolve_python_probes(const TracedProcess& process);
// The same in a file, for every process (pid -1).
PythonProbes resolve_python_probes(const FileTarget& file);

}  // namespace profilis
