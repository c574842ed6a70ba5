#include "agent/probes/kernel_error.h"

#include <cerrno>

#include "agent/common/errors.h"

namespace profilis {

void throw_kernel_error(const std::string& what, int err, std::string_view privileges) {
  if (err == EPERM || err == EACCES) {
    throw PrivilegeError(errno_message(
        what + " (the kernel refused: run as root or grant " + std::string(privileges) + ")", err));
  }
  throw RuntimeError(errno_message(what, err));
}

}  // namespace profilis
