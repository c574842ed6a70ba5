// JSONL files (DESIGN §5): events are appended to <dir>/<prefix>-active.jsonl.tmp, which is fsynced
// and renamed to <prefix>-YYYYmmdd-HHMMSS.jsonl (UTC) when finalized; a finalized file is never
// overwritten (a "-N" suffix is added instead).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "exporters/sink.h"

namespace profilis {

struct JsonlOptions {
  std::filesystem::path dir;
  std::string prefix = "profilis";
};

class JsonlSink : public Sink {
 public:
  // Creates the directory when needed and first finalizes an active file left by a crash, cutting
  // off its partial last line. Throws std::system_error when the directory cannot be used or
  // another live writer holds the active file.
  explicit JsonlSink(JsonlOptions options);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  std::string_view name() const override { return "jsonl"; }
  void write(std::span<const Event> batch) override;
  void finalize() override;

  std::filesystem::path active_path() const;
  // Partial lines cut off the leftover active file at start.
  std::uint64_t recovered_partial_lines() const { return recovered_partial_lines_; }
  // Paths of the files finalized so far, in order.
  const std::vector<std::filesystem::path>& finalized_files() const { return finalized_; }

 private:
  // Opens and locks the active file, creating it when missing; returns its size (non-zero: a
  // leftover). Throws std::system_error when another live writer holds it.
  off_t open_active();
  void finalize_active();
  void recover_leftover();

  JsonlOptions options_;
  int fd_ = -1;
  std::uint64_t bytes_in_active_ = 0;
  std::uint64_t recovered_partial_lines_ = 0;
  std::vector<std::filesystem::path> finalized_;
  std::string buffer_;
};

// Renames `from` into `dir` as <prefix>-<UTC timestamp>.jsonl, adding -1, -2, ... rather than
// replacing a file that exists. Returns the new path.
std::filesystem::path rename_without_overwrite(const std::filesystem::path& from,
                                               const std::filesystem::path& dir,
                                               const std::string& prefix);

}  // namespace profilis
