#include "agent/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "agent/errors.h"
#include "fn_latency_bpf.skel.h"

namespace profilis {
namespace {

[[noreturn]] void throw_libbpf(const std::string& what, int err) {
  if (err == EPERM || err == EACCES) {
    throw PrivilegeError(errno_message(what + " (the kernel refused: run as root or grant "
                                              "CAP_BPF and CAP_PERFMON)",
                                       err));
  }
  throw RuntimeError(errno_message(what, err));
}

}  // namespace

void FnLatencyProgram::SkeletonDeleter::operator()(fn_latency_bpf* skel) const {
  fn_latency_bpf::destroy(skel);
}

void FnLatencyProgram::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

FnLatencyProgram::FnLatencyProgram(std::unique_ptr<fn_latency_bpf, SkeletonDeleter> skel)
    : skel_(std::move(skel)) {}

FnLatencyProgram::~FnLatencyProgram() { detach_all(); }

FnLatencyProgram FnLatencyProgram::load(const LoadOptions& options) {
  std::unique_ptr<fn_latency_bpf, SkeletonDeleter> skel(fn_latency_bpf::open());
  if (!skel) throw_libbpf("cannot open the BPF object", errno);
  skel->rodata->min_duration_ns = options.min_duration_ns;
  if (int err = bpf_map__set_max_entries(skel->maps.events, options.ring_buffer_bytes)) {
    throw_libbpf("cannot size the ring buffer", -err);
  }
  if (int err = fn_latency_bpf::load(skel.get())) {
    throw_libbpf("cannot load the BPF programs into the kernel", -err);
  }
  return FnLatencyProgram(std::move(skel));
}

void FnLatencyProgram::add_target_pid(pid_t pid) {
  const __u32 key = static_cast<__u32>(pid);
  const __u8 one = 1;
  if (bpf_map__update_elem(skel_->maps.target_pids, &key, sizeof key, &one, sizeof one, BPF_ANY)) {
    throw_libbpf("cannot add pid " + std::to_string(pid) + " to the target map", errno);
  }
}

void FnLatencyProgram::attach(pid_t pid, const std::string& path, std::uint64_t file_offset,
                              std::uint64_t cookie, const std::string& label) {
  for (bool retprobe : {false, true}) {
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie, .retprobe = retprobe);
    bpf_program* prog = retprobe ? skel_->progs.fn_return : skel_->progs.fn_entry;
    bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, path.c_str(),
                                                     static_cast<size_t>(file_offset), &opts);
    if (!link) {
      throw_libbpf(std::string("cannot attach ") + (retprobe ? "uretprobe" : "uprobe") + " to " +
                       label + " (pid " + std::to_string(pid) + ")",
                   errno);
    }
    links_.emplace_back(link);
  }
}

void FnLatencyProgram::detach_all() { links_.clear(); }

int FnLatencyProgram::ring_buffer_fd() const { return bpf_map__fd(skel_->maps.events); }

DropCounts FnLatencyProgram::drops() const {
  DropCounts total{};
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return total;
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  for (__u32 reason = 0; reason < PROFILIS_DROP__COUNT; ++reason) {
    if (bpf_map__lookup_elem(skel_->maps.drops, &reason, sizeof reason, per_cpu.data(),
                             per_cpu.size() * sizeof(std::uint64_t), 0) != 0) {
      continue;
    }
    for (std::uint64_t n : per_cpu) total[reason] += n;
  }
  return total;
}

}  // namespace profilis
