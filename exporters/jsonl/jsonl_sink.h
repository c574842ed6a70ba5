// JSONL files (docs/design.md §5): events are appended to <dir>/<prefix>-active.jsonl.tmp, which is
// fsynced and renamed to <prefix>-YYYYmmdd-HHMMSS.jsonl (UTC) when it is rotated (by size or by
// age) or finalized; a finalized file is never overwritten (a "-N" suffix is added instead). Every
// file holds only complete lines: rotation happens between lines, and a failed write is cut back.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/common/unique_fd.h"
#include "exporters/common/sink.h"

namespace profilis {

struct JsonlOptions {
  std::filesystem::path dir;
  std::string prefix = "profilis";
  // The active file is rotated before a line would take it past this many bytes; a single longer
  // line gets a file of its own. 0: never rotate by size.
  std::uint64_t rotate_bytes = 10'000'000;
  // The active file is rotated once its first line is this many seconds old (checked on write and
  // tick). 0: never rotate by age.
  std::uint64_t rotate_secs = 300;
  // Measures file age and paces the error log; tests inject their own. Empty: steady_clock::now.
  // (File names always carry the UTC wall-clock time.)
  std::function<std::chrono::steady_clock::time_point()> clock = {};
};

class JsonlSink : public Sink {
 public:
  using Clock = std::chrono::steady_clock;

  // Creates the directory when needed and first finalizes an active file left by a crash, cutting
  // off its partial last line. Throws std::system_error when the directory cannot be used or
  // another live writer holds the active file.
  explicit JsonlSink(JsonlOptions options);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  std::string_view name() const override { return "jsonl"; }
  // Never throws for I/O errors (disk full, EIO, a file that cannot be opened): the events that
  // could not be written are counted in dropped_events(), the failure in write_errors() and on
  // stderr (at most once a minute), and the next call tries again.
  void write(std::span<const Event> batch) override;
  // Rotates by age, retries opening an active file that could not be opened, and reports errors
  // counted since the last report once a minute has passed.
  void tick() override;
  // Fsyncs and renames the active file (removes it when empty). Throws std::system_error when the
  // rename fails; the file then stays as the active file, to be recovered on the next start.
  void finalize() override;

  std::filesystem::path active_path() const;
  // Partial lines cut off the leftover active file at start.
  std::uint64_t recovered_partial_lines() const { return recovered_partial_lines_; }
  // Paths of the files finalized so far (by rotation or finalize), in order. Sink thread only.
  const std::vector<std::filesystem::path>& finalized_files() const { return finalized_; }
  // Events that could not be written (stage="jsonl"). Safe to read from any thread.
  std::uint64_t dropped_events() const override {
    return dropped_events_.load(std::memory_order_relaxed);
  }
  // Failed writes, opens, fsyncs, truncations and rotations. Safe to read from any thread.
  std::uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  // Opens and locks the active file, creating it when missing; returns its size (non-zero: a
  // leftover). Throws std::system_error when another live writer holds it.
  off_t open_active();
  // open_active(), and a leftover found there finalized first; throws like open_active().
  void open_empty_active();
  // open_empty_active() that counts and logs a failure instead of throwing; true when open.
  bool reopen();
  void finalize_active();
  // finalize_active() for a rotation: a failure is counted and the file stays active. True when
  // the file was renamed (or removed, being empty).
  bool rotate();
  void recover_leftover();
  bool old_enough(Clock::time_point now) const;

  void encode(std::span<const Event> batch);
  // How many lines from `first` on fit into the active file within rotate_bytes (all when
  // `limit` is false); 0 only when the first does not fit and the file is not empty.
  std::size_t lines_fitting(std::size_t first, bool limit) const;
  // Writes lines [first, last) of the encoded batch; returns how many got into the file whole.
  std::size_t append_lines(std::size_t first, std::size_t last);
  std::size_t line_start(std::size_t line) const { return line == 0 ? 0 : line_ends_[line - 1]; }
  // Cuts the active file back to its complete lines; false (and counted) when that fails.
  bool cut_back();

  // `what`: the failure with its path and reason, kept for the next report.
  void count_error(const std::string& what);
  void count_dropped(std::uint64_t events);
  // Logs the errors and drops counted since the last report, when there are some and a minute has
  // passed since then (or `now_anyway`).
  void report(Clock::time_point now, bool now_anyway = false);

  JsonlOptions options_;
  unique_fd fd_;
  bool live_ = true;                   // holds an active file between writes (false once finalized)
  bool needs_cut_ = false;             // the file may end in a partial line a failed cut left
  std::uint64_t bytes_in_active_ = 0;  // complete lines only
  std::optional<Clock::time_point> first_line_at_;  // when the active file got its first line
  std::uint64_t recovered_partial_lines_ = 0;
  std::vector<std::filesystem::path> finalized_;
  std::string buffer_;                  // the encoded batch
  std::vector<std::size_t> line_ends_;  // offset in buffer_ just past each line's newline

  std::atomic<std::uint64_t> dropped_events_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  // The error log: what went wrong last and what was lost since the last line logged.
  std::string last_error_;
  std::uint64_t errors_since_report_ = 0;
  std::uint64_t dropped_since_report_ = 0;
  std::optional<Clock::time_point> last_report_at_;
};

// Renames `from` into `dir` as <prefix>-<UTC timestamp>.jsonl, adding -1, -2, ... rather than
// replacing a file that exists. Returns the new path.
std::filesystem::path rename_without_overwrite(const std::filesystem::path& from,
                                               const std::filesystem::path& dir,
                                               const std::string& prefix);

}  // namespace profilis
