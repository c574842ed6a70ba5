#include "agent/probes/uprobe_multi_link.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "agent/probes/kernel_error.h"

namespace profilis {
namespace {

// The kernel's names (include/uapi/linux/bpf.h, 6.6), absent from the 6.1 headers Debian builds
// against.
constexpr unsigned kTraceUprobeMulti = 48;  // enum bpf_attach_type BPF_TRACE_UPROBE_MULTI
constexpr unsigned kUprobeMultiReturn = 1;  // BPF_F_UPROBE_MULTI_RETURN

// union bpf_attr as BPF_LINK_CREATE reads it for a uprobe-multi link.
struct LinkCreateUprobeMulti {
  std::uint32_t prog_fd;
  std::uint32_t target_fd;
  std::uint32_t attach_type;
  std::uint32_t flags;
  std::uint64_t path;
  std::uint64_t offsets;
  std::uint64_t ref_ctr_offsets;
  std::uint64_t cookies;
  std::uint32_t cnt;
  std::uint32_t multi_flags;
  std::uint32_t pid;
  std::uint32_t padding;
};
static_assert(sizeof(LinkCreateUprobeMulti) == 64);

std::uint64_t pointer_of(std::span<const std::uint64_t> values) {
  return values.empty() ? 0 : reinterpret_cast<std::uint64_t>(values.data());
}

int link_create(int program_fd, const char* path, const UprobeMultiSites& sites, pid_t pid,
                bool at_return) {
  LinkCreateUprobeMulti attr{};
  attr.prog_fd = static_cast<std::uint32_t>(program_fd);
  attr.attach_type = kTraceUprobeMulti;
  attr.path = reinterpret_cast<std::uint64_t>(path);
  attr.offsets = pointer_of(sites.offsets);
  attr.ref_ctr_offsets = pointer_of(sites.ref_ctr_offsets);
  attr.cookies = pointer_of(sites.cookies);
  attr.cnt = static_cast<std::uint32_t>(sites.offsets.size());
  attr.multi_flags = at_return ? kUprobeMultiReturn : 0;
  attr.pid = pid > 0 ? static_cast<std::uint32_t>(pid) : 0;
  return static_cast<int>(::syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof attr));
}

bool probe_kernel() {
  const bpf_insn return_zero[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0}};
  LIBBPF_OPTS(bpf_prog_load_opts, options,
              .expected_attach_type = static_cast<bpf_attach_type>(kTraceUprobeMulti));
  const unique_fd program(
      bpf_prog_load(BPF_PROG_TYPE_KPROBE, nullptr, "GPL", return_zero, 2, &options));
  if (!program) return false;
  // libbpf's own probe: a kernel that knows the link type refuses a directory as the file with
  // EBADF, after checking everything else.
  const std::uint64_t offset = 0;
  const unique_fd link(link_create(program.get(), "/",
                                   {.offsets = {&offset, 1}, .cookies = {}, .ref_ctr_offsets = {}},
                                   -1, false));
  return !link && errno == EBADF;
}

}  // namespace

bool uprobe_multi_supported() {
  // PROFILIS_NO_UPROBE_MULTI=1 takes the older kernels' way here too: for the tests of that path.
  static const bool supported = [] {
    const char* off = std::getenv("PROFILIS_NO_UPROBE_MULTI");
    return !(off != nullptr && std::string_view(off) == "1") && probe_kernel();
  }();
  return supported;
}

void set_uprobe_multi_attach_type(bpf_program* program) {
  bpf_program__set_expected_attach_type(program, static_cast<bpf_attach_type>(kTraceUprobeMulti));
}

UprobeMultiLink::UprobeMultiLink(int program_fd, const std::string& path,
                                 const UprobeMultiSites& sites, pid_t pid, bool at_return,
                                 const std::string& label)
    : fd_(link_create(program_fd, path.c_str(), sites, pid, at_return)) {
  if (fd_) return;
  const int err = errno;
  std::string what = "cannot attach " + std::to_string(sites.offsets.size()) +
                     (at_return ? " return probe(s)" : " probe(s)") + " to " + label;
  if (pid > 0) what += " (pid " + std::to_string(pid) + ")";
  throw_kernel_error(what, err);
}

}  // namespace profilis
