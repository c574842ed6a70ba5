#include "agent/inspect/marker_strings.h"

#include <algorithm>

namespace profilis {

std::uint32_t MarkerStrings::add(const std::string& path, std::vector<FileMapping> run) {
  if (run.empty()) return 0;
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return 0;
  objects_.push_back({std::move(file), std::move(run)});
  return static_cast<std::uint32_t>(objects_.size());
}

std::pair<std::uint64_t, std::uint64_t> MarkerStrings::range(std::uint32_t id) const {
  const auto& run = objects_.at(id - 1).run;
  return {run.front().start, run.back().end};
}

std::optional<std::string> MarkerStrings::string_at(std::uint32_t id, std::uint64_t address,
                                                    std::size_t max_bytes) const {
  const std::string* text = find(id, address, max_bytes);
  if (text == nullptr) return std::nullopt;
  return *text;
}

bool MarkerStrings::read(std::uint32_t id, std::uint64_t address, std::size_t max_bytes,
                         std::string& out) const {
  const std::string* text = find(id, address, max_bytes);
  if (text == nullptr) return false;
  out.assign(*text);
  return true;
}

const std::string* MarkerStrings::find(std::uint32_t id, std::uint64_t address,
                                       std::size_t max_bytes) const {
  if (id == 0 || id > objects_.size() || max_bytes == 0) return nullptr;
  const auto key = std::make_tuple(id, address, max_bytes);
  if (const auto cached = cache_.find(key); cached != cache_.end()) return &cached->second;
  const Object& object = objects_[id - 1];
  const auto mapping = std::find_if(object.run.begin(), object.run.end(), [&](const auto& m) {
    return address >= m.start && address < m.end;
  });
  if (mapping == object.run.end()) return nullptr;
  // The string may continue past its mapping into the next one of the run, which may not follow it
  // in the file: read mapping by mapping.
  std::string text;
  for (auto m = mapping; m != object.run.end() && text.size() < max_bytes - 1; ++m) {
    const std::uint64_t from = m == mapping ? address : m->start;
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(max_bytes - 1 - text.size(), m->end - from));
    std::string chunk(want, '\0');
    object.file->clear();
    object.file->seekg(static_cast<std::streamoff>(from - m->start + m->file_offset));
    object.file->read(chunk.data(), static_cast<std::streamsize>(want));
    chunk.resize(static_cast<std::size_t>(object.file->gcount()));
    const auto nul = chunk.find('\0');
    text += chunk.substr(0, nul);
    if (nul != std::string::npos || chunk.size() < want) break;
  }
  if (cache_.size() >= kCacheLimit) cache_.clear();
  return &cache_.emplace(key, std::move(text)).first->second;
}

}  // namespace profilis
