// USDT target resolution: which files of a process carry profilis:* markers, and where the probes
// of a --usdt SPEC are.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "agent/targets.h"

namespace profilis {

// "[OBJECT:]PROVIDER:NAME" or "[OBJECT:]PROVIDER:START,END".
struct UsdtSpec {
  std::string object;  // empty: the main executable
  std::string provider;
  std::string name;  // the probe, or the START probe of a pair
  std::string end;   // the END probe of a pair; empty for a single probe

  // What events are named: "PROVIDER:NAME" or "PROVIDER:START,END".
  std::string event_name() const;
};

// Throws UsageError for a malformed spec. The object may itself contain ':' (a path), so the last
// two fields are the provider and the name.
UsdtSpec parse_usdt_spec(std::string_view spec);

struct UsdtProbe {
  pid_t pid = 0;
  std::string path;    // opens the file, through /proc/PID
  std::string object;  // as the process maps it, for messages
  UsdtSpec spec;
};

// Checks that the object is mapped and declares the probes. Throws UsageError naming the probes it
// does declare otherwise.
UsdtProbe resolve_usdt_probe(const TracedProcess& process, const UsdtSpec& spec);

// A file of the process with profilis:* markers, and which of the markers it has.
struct MarkerFile {
  ObjectFile file;
  std::vector<std::string> markers;  // "req_begin", "fn_end", ... each once
};

// The executable and every mapped file that declare profilis:* probes. Files that are not readable
// ELF are skipped: markers are looked for everywhere, not asked for.
std::vector<MarkerFile> find_marker_files(const TracedProcess& process);

}  // namespace profilis
