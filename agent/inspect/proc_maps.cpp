#include "agent/inspect/proc_maps.h"

#include <algorithm>
#include <charconv>
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

namespace {

bool parse_hex(std::string_view text, std::uint64_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::vector<FileMapping> read_only_run(std::string_view maps_text, std::string_view path) {
  std::vector<FileMapping> best, run;
  const auto bytes = [](const std::vector<FileMapping>& mappings) {
    return mappings.empty() ? 0 : mappings.back().end - mappings.front().start;
  };
  const auto close_run = [&] {
    if (bytes(run) > bytes(best)) best = run;
    run.clear();
  };
  std::istringstream in{std::string(maps_text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string address, perms, offset, dev, inode;
    const auto slash = line.find('/');
    if (!(fields >> address >> perms >> offset >> dev >> inode) || slash == std::string::npos ||
        std::string_view(line).substr(slash) != path) {
      continue;  // another file: runs are broken by address gaps and writable mappings only
    }
    const auto dash = address.find('-');
    FileMapping mapping;
    if (dash == std::string::npos || perms.size() < 2 ||
        !parse_hex(std::string_view(address).substr(0, dash), mapping.start) ||
        !parse_hex(std::string_view(address).substr(dash + 1), mapping.end) ||
        !parse_hex(offset, mapping.file_offset) || mapping.end <= mapping.start) {
      continue;
    }
    const bool read_only = perms[0] == 'r' && perms[1] != 'w';
    const bool adjacent = !run.empty() && run.back().end == mapping.start;
    if (!read_only || !adjacent) close_run();
    if (read_only) run.push_back(mapping);
  }
  close_run();
  return best;
}

}  // namespace profilis
