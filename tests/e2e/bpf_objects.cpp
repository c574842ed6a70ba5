#include "tests/e2e/bpf_objects.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace profilis::e2e {
namespace {

long sys_bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

std::vector<std::uint32_t> ids_in_fdinfo(pid_t pid, const std::string& key) {
  std::set<std::uint32_t> ids;
  std::error_code ec;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(key, 0) == 0) ids.insert(std::stoul(line.substr(key.size())));
    }
  }
  return {ids.begin(), ids.end()};
}

// A descriptor of map `id`, or -1 when it is gone.
int map_fd(std::uint32_t id) {
  bpf_attr attr{};
  attr.map_id = id;
  return static_cast<int>(sys_bpf(BPF_MAP_GET_FD_BY_ID, attr));
}

std::optional<bpf_map_info> map_info(int fd) {
  bpf_map_info info{};
  bpf_attr attr{};
  attr.info.bpf_fd = static_cast<__u32>(fd);
  attr.info.info_len = sizeof info;
  attr.info.info = reinterpret_cast<__u64>(&info);
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, attr) != 0) return std::nullopt;
  return info;
}

// The map's entries by BPF_MAP_GET_NEXT_KEY, and its keys when they are 4 bytes. A key deleted
// under the walk restarts it at the first key (the kernel's rule for a missing key); bounded by
// max_entries, which a hash map never exceeds. No count when the map type cannot list its keys.
MapEntries list_keys(int fd, const bpf_map_info& info) {
  MapEntries map;
  map.type = info.type;
  std::vector<unsigned char> key(info.key_size), next(info.key_size);
  std::size_t n = 0;
  bpf_attr attr{};
  attr.map_fd = static_cast<__u32>(fd);
  attr.key = 0;  // the first key
  attr.next_key = reinterpret_cast<__u64>(next.data());
  while (n <= info.max_entries && sys_bpf(BPF_MAP_GET_NEXT_KEY, attr) == 0) {
    ++n;
    key = next;
    attr.key = reinterpret_cast<__u64>(key.data());
    if (info.key_size == sizeof(std::uint32_t)) {
      std::uint32_t k;
      std::memcpy(&k, key.data(), sizeof k);
      map.u32_keys.push_back(k);
    }
  }
  if (n > 0 || errno == ENOENT) map.entries = n;
  return map;
}

}  // namespace

std::vector<std::uint32_t> bpf_prog_ids_of(pid_t pid) { return ids_in_fdinfo(pid, "prog_id:"); }

std::vector<std::uint32_t> bpf_map_ids_of(pid_t pid) { return ids_in_fdinfo(pid, "map_id:"); }

bool bpf_prog_exists(std::uint32_t id) {
  bpf_attr attr{};
  attr.prog_id = id;
  const long fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) return errno != ENOENT;
  ::close(static_cast<int>(fd));
  return true;
}

std::vector<MapEntries> bpf_map_entries(pid_t pid, const std::string& name) {
  std::vector<MapEntries> counts;
  const std::string wanted = name.substr(0, BPF_OBJ_NAME_LEN - 1);
  for (const std::uint32_t id : bpf_map_ids_of(pid)) {
    const int fd = map_fd(id);
    if (fd < 0) continue;
    const auto info = map_info(fd);
    if (info && wanted == info->name) counts.push_back(list_keys(fd, *info));
    ::close(fd);
  }
  return counts;
}

}  // namespace profilis::e2e
