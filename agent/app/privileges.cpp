#include "agent/app/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>

#include "agent/common/errors.h"

namespace profilis {
namespace {

bool has_effective_capability(const __user_cap_data_struct (&data)[2], int cap) {
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

void check_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) {
    throw PrivilegeError(errno_message("cannot read this process's capabilities (capget)", errno));
  }
  const bool admin = has_effective_capability(data, CAP_SYS_ADMIN);
  const bool bpf_and_perfmon =
      has_effective_capability(data, CAP_BPF) && has_effective_capability(data, CAP_PERFMON);
  if (!admin && !bpf_and_perfmon) {
    throw PrivilegeError(
        "not enough privileges to load BPF programs: run as root, or grant CAP_BPF and "
        "CAP_PERFMON (e.g. `setcap cap_bpf,cap_perfmon,cap_sys_resource+ep profilis-agent`)");
  }
}

void check_kernel() {
  std::error_code ec;
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux", ec)) {
    throw PrivilegeError(
        "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): the agent needs a kernel "
        "built with CONFIG_DEBUG_INFO_BTF=y");
  }
  if (!std::filesystem::exists("/sys/bus/event_source/devices/uprobe/type", ec)) {
    throw PrivilegeError(
        "this kernel has no uprobe support (/sys/bus/event_source/devices/uprobe is missing): it "
        "needs CONFIG_UPROBE_EVENTS=y");
  }
}

}  // namespace

void check_privileges_and_kernel() {
  check_capabilities();
  check_kernel();
}

}  // namespace profilis
