#pragma once

namespace profilis {

// Throws PrivilegeError (exit 3) naming what is missing: root or CAP_BPF+CAP_PERFMON, kernel BTF,
// or uprobe support.
void check_privileges_and_kernel();

}  // namespace profilis
