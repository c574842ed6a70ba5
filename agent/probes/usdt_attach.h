// USDT probes attached by uprobe-multi links (uprobe_multi_link.h) instead of libbpf's
// bpf_program__attach_usdt, which makes one perf-event uprobe per site, each slow to detach. The
// BPF side is still libbpf's <bpf/usdt.bpf.h>: the agent parses each site's arguments
// (usdt_arguments.h) into the object's __bpf_usdt_specs map itself, and the link gives every site
// its spec id as BPF cookie, as libbpf does on a kernel with BPF cookies.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "agent/inspect/usdt_arguments.h"
#include "agent/inspect/usdt_notes.h"
#include "agent/probes/uprobe_multi_link.h"

struct bpf_map;
struct bpf_object;
struct bpf_program;

namespace profilis {

// Before `object` is loaded: its SEC("usdt") programs will be attached by UsdtLinks.
void set_usdt_attach_type(bpf_object* object);

// The spec ids of one BPF object's __bpf_usdt_specs: equal specs share one id.
class UsdtSpecTable {
 public:
  // Throws RuntimeError when the map is not the struct __bpf_usdt_spec array this code writes.
  explicit UsdtSpecTable(bpf_map* specs);

  // The id of the spec of `arguments` with `usdt_cookie` (what bpf_usdt_cookie returns), written
  // to the map the first time. Throws RuntimeError naming `probe` when the map is full.
  std::uint32_t id_of(const std::vector<UsdtArgument>& arguments, std::uint64_t usdt_cookie,
                      const std::string& probe);

 private:
  bpf_map* map_;
  std::uint32_t capacity_;
  std::map<std::string, std::uint32_t> ids_;  // by the spec's bytes
};

// Every USDT probe attached this way: one link per program, file and pid, and what attaching
// them needs.
class UsdtLinks {
 public:
  // `program` at every site of `provider`:`name` in the file at `path`, for `pid` only (-1: every
  // process running the file), each site's semaphore raised while attached; `specs` is the
  // __bpf_usdt_specs map of `program`'s object. A second probe for the same program, file and pid
  // replaces their link by one with the sites of both. Throws RuntimeError naming the probe and
  // `label`.
  void attach(bpf_program* program, bpf_map* specs, pid_t pid, const std::string& path,
              const std::string& provider, const std::string& name, std::uint64_t cookie,
              const std::string& label);

  std::size_t size() const { return links_.size(); }
  // Every link, handed over to be closed (side by side); none is left here.
  std::vector<UprobeMultiLink> release();

 private:
  // What one link holds, kept to make it again with more sites.
  struct Link {
    std::vector<std::uint64_t> offsets, cookies, semaphores;
    std::optional<UprobeMultiLink> link;
  };

  const std::vector<UsdtNote>& notes_of(const std::string& path);

  std::map<bpf_map*, UsdtSpecTable> tables_;
  std::string notes_path_;  // the last file read: a file's probes are attached one after another
  std::vector<UsdtNote> notes_;
  std::map<std::tuple<int, std::string, pid_t>, Link> links_;  // by program fd, path and pid
};

}  // namespace profilis
