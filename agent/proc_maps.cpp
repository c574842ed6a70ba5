#include "agent/proc_maps.h"

#include <algorithm>
#include <sstream>

namespace profilis {

std::vector<std::string> parse_mapped_files(std::string_view maps_text) {
  std::vector<std::string> files;
  std::istringstream in{std::string(maps_text)};
  std::string line;
  while (std::getline(in, line)) {
    // address perms offset dev inode pathname — the path starts at the first '/' after the inode,
    // and may itself contain spaces.
    std::istringstream fields(line);
    std::string address, perms, offset, dev, inode;
    if (!(fields >> address >> perms >> offset >> dev >> inode) || inode == "0") continue;
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.ends_with(" (deleted)")) continue;
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
  return files;
}

std::optional<std::string> find_mapped_object(const std::vector<std::string>& mapped,
                                              std::string_view object) {
  if (object.find('/') != std::string_view::npos) {
    const auto it = std::find(mapped.begin(), mapped.end(), object);
    return it == mapped.end() ? std::nullopt : std::optional<std::string>(*it);
  }
  auto base_of = [](const std::string& path) {
    return std::string_view(path).substr(path.rfind('/') + 1);
  };
  // An exact file name wins over a version prefix, wherever each is in the maps.
  for (const std::string& path : mapped) {
    if (base_of(path) == object) return path;
  }
  for (const std::string& path : mapped) {
    const std::string_view base = base_of(path);
    if (base.size() > object.size() && base.starts_with(object) && base[object.size()] == '.') {
      return path;
    }
  }
  return std::nullopt;
}

}  // namespace profilis
