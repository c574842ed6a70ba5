// One BPF_TRACE_UPROBE_MULTI link (kernel ≥ 6.6): a program attached at many offsets of one file in
// one system call, and detached from all of them in one go when the link is closed. Debian's
// libbpf 1.1 predates it (bpf_program__attach_uprobe_multi is 1.3), so this type makes the
// BPF_LINK_CREATE call itself; its programs must be loaded with that expected attach type
// (set_uprobe_multi_attach_type).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "agent/common/unique_fd.h"

struct bpf_program;

namespace profilis {

// Whether this kernel has uprobe-multi links, probed once with a two-instruction program.
bool uprobe_multi_supported();

// Before the object is loaded: `program` will be attached by UprobeMultiLink.
void set_uprobe_multi_attach_type(bpf_program* program);

struct UprobeMultiSites {
  std::span<const std::uint64_t> offsets;  // file offsets, as for a classic uprobe
  std::span<const std::uint64_t> cookies;  // one per offset, or empty for none
  // One per offset (the USDT semaphore the kernel counts up while attached, 0 for none), or empty.
  std::span<const std::uint64_t> ref_ctr_offsets;
};

class UprobeMultiLink {
 public:
  // Attaches `program_fd` at every site of the file at `path`, for process `pid` only, or for
  // every process that maps the file when `pid` is -1; at the functions' returns when
  // `at_return`. Throws RuntimeError (PrivilegeError when the kernel refuses for lack of
  // privileges) naming `label`.
  UprobeMultiLink(int program_fd, const std::string& path, const UprobeMultiSites& sites, pid_t pid,
                  bool at_return, const std::string& label);

  int fd() const { return fd_.get(); }
  // Detaches now (the destructor does it otherwise).
  void detach() { fd_.reset(); }

 private:
  unique_fd fd_;
};

}  // namespace profilis
