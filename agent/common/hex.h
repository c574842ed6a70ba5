// Addresses and offsets in messages and listings: "0x1f40".
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace profilis {

inline std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace profilis
