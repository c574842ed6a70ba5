// USDT target resolution: which files of a process carry profilis:* markers, and where the probes
// of a --usdt SPEC are.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inspect/proc_maps.h"
#include "agent/inspect/usdt_notes.h"
#include "agent/targets/targets.h"

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

// Checks that the object is mapped, is ELF that can be read, and declares the probes. Throws
// UsageError otherwise, naming the probes it does declare.
UsdtProbe resolve_usdt_probe(const TracedProcess& process, const UsdtSpec& spec);
// The same in a file, for every process (pid -1); the spec's OBJECT must be empty.
UsdtProbe resolve_usdt_probe(const FileTarget& file, const UsdtSpec& spec);

// One profilis:* marker of a file: every site it is placed at.
struct MarkerProbe {
  std::string name;  // "req_begin", "fn_end", ...
  std::vector<std::uint64_t> site_offsets;
  std::uint64_t semaphore_offset = 0;  // 0 when unguarded
  // Every site passes the arguments in the registers include/profilis/usdt.h pins them to, and
  // the sites and semaphore were found in the file: the agent can then attach plain uprobes that
  // read the registers, cheaper than a USDT probe. Otherwise (a marker written with <sys/sdt.h>,
  // say) it attaches by USDT note, which takes arguments from wherever the note says.
  bool register_arguments = false;
};

// A file of the process with profilis:* markers, and which of the markers it has.
struct MarkerFile {
  ObjectFile file;
  std::vector<MarkerProbe> markers;    // each marker once
  std::vector<FileMapping> read_only;  // read_only_run of the file in the process
};

// Whether these notes declare PostgreSQL's query__start and query__done: a server the agent traces
// by its own probes.
bool has_postgres_query_probes(const std::vector<UsdtNote>& notes);

// The markers in these notes (other providers' are left out), in the order first seen.
std::vector<MarkerProbe> marker_probes(const std::vector<UsdtNote>& notes);

// The executable and every mapped file that declare profilis:* probes. Files that are not readable
// ELF are skipped: markers are looked for everywhere, not asked for.
std::vector<MarkerFile> find_marker_files(const TracedProcess& process);

}  // namespace profilis
