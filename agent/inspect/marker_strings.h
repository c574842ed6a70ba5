// The strings markers pass that are constants of the marker's own object (string literals: FN
// names, REQ methods and routes, DB vendors and queries): the kernel sends their address instead of
// reading the process's memory on every hit (one user-memory read is ~45 ns here,
// bench/usdt_overhead.sh), and the agent reads them once from the file. That also reads constants
// whose page the process never touched, which the kernel cannot: a BPF program cannot fault a page
// in.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "agent/inspect/proc_maps.h"

namespace profilis {

class MarkerStrings {
 public:
  // Registers the read-only run of an object file (read_only_run) that `path` opens. Returns the
  // id the kernel reports with the addresses in it (≥ 1), or 0 when there is no run or the file
  // cannot be opened: the kernel then reads every name from the process.
  std::uint32_t add(const std::string& path, std::vector<FileMapping> run);

  // The memory range of an id, for the kernel's check. Precondition: `id` came from add().
  std::pair<std::uint64_t, std::uint64_t> range(std::uint32_t id) const;

  // The NUL-terminated string at `address` of object `id`, at most `max_bytes` - 1 characters (as
  // the kernel would have read it; cut short where the file ends). Empty when the id is unknown or
  // the address outside its run.
  std::optional<std::string> string_at(std::uint32_t id, std::uint64_t address,
                                       std::size_t max_bytes) const;
  // The same into `out`, reusing its capacity; false (and `out` untouched) where string_at is
  // empty.
  bool read(std::uint32_t id, std::uint64_t address, std::size_t max_bytes, std::string& out) const;

 private:
  struct Object {
    std::unique_ptr<std::ifstream> file;
    std::vector<FileMapping> run;
  };
  // The cached string, read from the file the first time; null where string_at is empty.
  const std::string* find(std::uint32_t id, std::uint64_t address, std::size_t max_bytes) const;

  std::vector<Object> objects_;
  // A program passes few distinct names; the bound only guards against one that does not.
  static constexpr std::size_t kCacheLimit = 65536;
  // By object, address and length limit (an FN name and a query may start at the same address).
  mutable std::map<std::tuple<std::uint32_t, std::uint64_t, std::size_t>, std::string> cache_;
};

}  // namespace profilis
