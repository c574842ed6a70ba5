// The one way the probes report what the kernel refused.
#pragma once

#include <string>
#include <string_view>

namespace profilis {

// What loading programs and attaching uprobe-multi links take.
inline constexpr std::string_view kBpfPrivileges = "CAP_BPF and CAP_PERFMON";

// Attaching a classic (perf-event) uprobe takes CAP_SYS_ADMIN again since Linux 6.16 and the
// stable kernels of July 2025 on (commit ba677dbe77af, "perf: Revert to requiring CAP_SYS_ADMIN
// for uprobes"): CAP_BPF and CAP_PERFMON load the programs but no longer attach them that way.
inline constexpr std::string_view kClassicUprobePrivileges =
    "CAP_BPF, CAP_PERFMON and, for uprobes on kernels since mid-2025, CAP_SYS_ADMIN";

// Throws PrivilegeError (exit 3) naming `privileges` when `err` says the kernel refused for lack
// of them, RuntimeError otherwise; both with `what` and the errno text.
[[noreturn]] void throw_kernel_error(const std::string& what, int err,
                                     std::string_view privileges = kBpfPrivileges);

}  // namespace profilis
