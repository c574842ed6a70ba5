// What BPF objects a process holds, read from the outside: its programs and maps by id (from
// /proc/PID/fdinfo), a map's entries counted by the bpf(2) syscall. For the churn and scale tests,
// which must look at one agent's maps while other agents may run on the same machine.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace profilis::e2e {

// The ids of the programs (`prog_id:`) or maps (`map_id:`) behind the open descriptors of `pid`
// (links name their program too), each once.
std::vector<std::uint32_t> bpf_prog_ids_of(pid_t pid);
std::vector<std::uint32_t> bpf_map_ids_of(pid_t pid);

// Whether the kernel still has a program with this id (a program is freed once no link and no
// descriptor holds it, so this turns false when its probes are detached).
bool bpf_prog_exists(std::uint32_t id);

// One map's entries, or none when the kernel cannot list its keys (task storage, which the kernel
// frees with its task, has no BPF_MAP_GET_NEXT_KEY).
struct MapEntries {
  std::uint32_t type = 0;  // BPF_MAP_TYPE_*
  std::optional<std::size_t> entries;
  std::vector<std::uint32_t> u32_keys;  // the keys, when they are 4 bytes (pids, tids)
};

// Each map of `pid` named `name` (the kernel keeps 15 characters); empty when it holds none.
std::vector<MapEntries> bpf_map_entries(pid_t pid, const std::string& name);

}  // namespace profilis::e2e
