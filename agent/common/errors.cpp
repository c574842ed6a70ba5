#include "agent/common/errors.h"

#include <cstring>

namespace profilis {

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace profilis
