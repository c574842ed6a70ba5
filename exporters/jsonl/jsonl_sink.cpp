#include "exporters/jsonl/jsonl_sink.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <system_error>
#include <utility>

#include "exporters/common/json_event.h"

namespace profilis {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

// "" for the first file of a second, then ".seq000001", ".seq000002"...: a name that sorts after
// the first one and before the next second's, byte by byte (C locale, Python's sorted()) and by a
// locale's collation alike (which ignores punctuation, so a letter must follow the stamp).
std::string collision_suffix(unsigned n) {
  if (n == 0) return "";
  char buf[24];
  std::snprintf(buf, sizeof buf, ".seq%06u", n);
  return buf;
}

// Writes all of `data`, going on after short writes. Returns 0, or the errno of the write that
// failed; `written` tells how much got into the file either way.
int write_fully(int fd, const char* data, std::size_t size, std::size_t& written) {
  written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;  // 0 for a non-empty write: no progress, give up
    written += static_cast<std::size_t>(n);
  }
  return 0;
}

void fsync_dir(const std::filesystem::path& dir) {
  const unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

// Size of the file up to and including its last newline: what survives of a crashed writer.
off_t complete_lines_size(int fd, off_t size) {
  char buf[4096];
  off_t end = size;
  while (end > 0) {
    off_t start = end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    ssize_t n = ::pread(fd, buf, static_cast<std::size_t>(end - start), start);
    if (n <= 0) return 0;
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (buf[i] == '\n') return start + i + 1;
    }
    end = start;
  }
  return 0;
}

// The size of the file open as `fd` when `path` names it, nothing when the name is gone or now
// names another file.
std::optional<off_t> size_if_named(int fd, const std::filesystem::path& path) {
  struct stat opened {
  }, named{};
  if (::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
      opened.st_ino == named.st_ino && opened.st_dev == named.st_dev) {
    return opened.st_size;
  }
  return std::nullopt;
}

}  // namespace

std::filesystem::path rename_without_overwrite(const std::filesystem::path& from,
                                               const std::filesystem::path& dir,
                                               const std::string& prefix) {
  const std::string base = prefix + "-" + utc_stamp();
  for (unsigned n = 0;; ++n) {
    std::filesystem::path to = dir / (base + collision_suffix(n) + ".jsonl");
    // RENAME_NOREPLACE makes "exists?" and "rename" one atomic step: no race can overwrite a file.
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
      fsync_dir(dir);
      return to;
    }
    if (errno != EEXIST) throw_errno("jsonl: rename " + from.string() + " to " + to.string());
  }
}

JsonlSink::JsonlSink(JsonlOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return Clock::now(); };
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) throw std::system_error(ec, "jsonl: cannot create " + options_.dir.string());
  open_empty_active();
}

JsonlSink::~JsonlSink() = default;

std::filesystem::path JsonlSink::active_path() const {
  return options_.dir / (options_.prefix + "-active.jsonl.tmp");
}

off_t JsonlSink::open_active() {
  const auto path = active_path();
  for (;;) {
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd) throw_errno("jsonl: open " + path.string());
    // The lock tells a live writer's file from a crashed one's leftover: a second agent on the
    // same directory and prefix must not "recover" (and so steal) the first one's active file.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      throw_errno("jsonl: " + path.string() +
                  " is being written by another process (another agent?); give each agent its own "
                  "--jsonl-dir or --jsonl-prefix");
    }
    // Locked, but the holder may have renamed it away just before: then start over on the name.
    if (const auto size = size_if_named(fd.get(), path)) {
      fd_ = std::move(fd);
      bytes_in_active_ = 0;
      first_line_at_.reset();
      needs_cut_ = false;
      return *size;
    }
  }
}

void JsonlSink::open_empty_active() {
  if (open_active() > 0) {
    recover_leftover();
    open_active();
  }
}

bool JsonlSink::reopen() {
  try {
    open_empty_active();
    return true;
  } catch (const std::system_error& e) {
    count_error(e.what());
    return false;
  }
}

void JsonlSink::recover_leftover() {
  const auto path = active_path();
  struct stat st {};
  ::fstat(fd_.get(), &st);
  const off_t keep = complete_lines_size(fd_.get(), st.st_size);
  if (keep != st.st_size) {
    ++recovered_partial_lines_;
    if (::ftruncate(fd_.get(), keep) != 0) throw_errno("jsonl: truncate leftover " + path.string());
  }
  bytes_in_active_ = static_cast<std::uint64_t>(keep);
  finalize_active();
}

void JsonlSink::write(std::span<const Event> batch) {
  if (batch.empty()) return;
  live_ = true;
  const auto now = options_.clock();
  if (old_enough(now)) rotate();
  encode(batch);
  bool limit = options_.rotate_bytes > 0;
  std::size_t next = 0;
  while (next < line_ends_.size()) {
    if (!fd_ && !reopen()) break;
    const std::size_t fitting = lines_fitting(next, limit);
    if (fitting == 0) {
      // A file that cannot be renamed grows past the limit rather than lose the lines.
      if (!rotate() && fd_) limit = false;
      continue;
    }
    const std::size_t written = append_lines(next, next + fitting);
    next += written;
    if (written < fitting) break;  // counted; the next batch tries again
  }
  count_dropped(line_ends_.size() - next);
  if (bytes_in_active_ > 0 && !first_line_at_) first_line_at_ = now;
  report(now);
}

void JsonlSink::tick() {
  const auto now = options_.clock();
  if (old_enough(now)) rotate();
  // Reopened here too, not only on the next write: the lock keeps the name ours, and a failure
  // shows in the log while no event arrives.
  if (live_ && !fd_) reopen();
  report(now);
}

bool JsonlSink::old_enough(Clock::time_point now) const {
  if (!fd_ || options_.rotate_secs == 0 || !first_line_at_) return false;
  // Compared in whole seconds: a huge rotate_secs must not overflow a nanosecond duration.
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *first_line_at_).count();
  return age >= 0 && static_cast<std::uint64_t>(age) >= options_.rotate_secs;
}

void JsonlSink::encode(std::span<const Event> batch) {
  buffer_.clear();
  line_ends_.clear();
  for (const Event& event : batch) {
    append_json_event(buffer_, event);
    line_ends_.push_back(buffer_.size());
  }
}

std::size_t JsonlSink::lines_fitting(std::size_t first, bool limit) const {
  const std::size_t total = line_ends_.size();
  if (!limit) return total - first;
  const std::size_t begin = line_start(first);
  std::size_t last = first;
  while (last < total && bytes_in_active_ + (line_ends_[last] - begin) <= options_.rotate_bytes) {
    ++last;
  }
  // A line longer than the limit is never split: it gets a file of its own.
  if (last == first && bytes_in_active_ == 0) return 1;
  return last - first;
}

std::size_t JsonlSink::append_lines(std::size_t first, std::size_t last) {
  if (needs_cut_ && !cut_back()) return 0;
  const std::size_t begin = line_start(first);
  std::size_t written = 0;
  const int err =
      write_fully(fd_.get(), buffer_.data() + begin, line_ends_[last - 1] - begin, written);
  // Lines that got in whole stay (the disk may have had room for part of the batch).
  std::size_t done = first;
  while (done < last && line_ends_[done] - begin <= written) ++done;
  bytes_in_active_ += line_start(done) - begin;
  if (err != 0) {
    count_error("jsonl: write " + active_path().string() + ": " + std::strerror(err));
    needs_cut_ = true;  // whatever the write left past the complete lines must go
    cut_back();
  }
  return done - first;
}

bool JsonlSink::cut_back() {
  if (::ftruncate(fd_.get(), static_cast<off_t>(bytes_in_active_)) == 0) {
    needs_cut_ = false;
    return true;
  }
  count_error("jsonl: truncate " + active_path().string() + ": " + std::strerror(errno));
  return false;
}

void JsonlSink::finalize_active() {
  if (!fd_) return;
  const auto path = active_path();
  // A partial line that could not be cut must not reach a named file: the file stays active, and
  // the next start's recovery cuts it.
  if (needs_cut_ && !cut_back()) {
    throw std::system_error(EIO, std::generic_category(),
                            "jsonl: " + path.string() + " ends in a partial line");
  }
  if (::fsync(fd_.get()) != 0) {
    count_error("jsonl: fsync " + path.string() + ": " + std::strerror(errno));
  }
  if (bytes_in_active_ == 0) {
    ::unlink(path.c_str());  // an empty file carries nothing worth a name
  } else {
    finalized_.push_back(rename_without_overwrite(path, options_.dir, options_.prefix));
  }
  // Closed (and so unlocked) only after the rename or unlink: no other writer can take over the
  // file in between. After a failed rename it stays open and active.
  fd_.reset();
  bytes_in_active_ = 0;
  first_line_at_.reset();
}

bool JsonlSink::rotate() {
  try {
    finalize_active();
    return true;
  } catch (const std::system_error& e) {
    count_error(e.what());
    // Someone removed or replaced the active file: its lines are gone with it, and renaming it
    // would fail forever. A new one is opened instead.
    if (!size_if_named(fd_.get(), active_path())) fd_.reset();
    return false;
  }
}

void JsonlSink::finalize() {
  live_ = false;
  const auto now = options_.clock();
  // What was lost in the last minute is reported even though the minute is not over: there will
  // be no later report.
  try {
    finalize_active();
  } catch (const std::system_error&) {
    report(now, true);
    throw;
  }
  report(now, true);
}

void JsonlSink::count_error(const std::string& what) {
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  ++errors_since_report_;
  last_error_ = what;
}

void JsonlSink::count_dropped(std::uint64_t events) {
  if (events == 0) return;
  dropped_events_.fetch_add(events, std::memory_order_relaxed);
  dropped_since_report_ += events;
}

void JsonlSink::report(Clock::time_point now, bool now_anyway) {
  if (errors_since_report_ == 0) return;
  if (!now_anyway && last_report_at_ && now - *last_report_at_ < std::chrono::minutes(1)) return;
  std::fprintf(
      stderr, "profilis-agent: %s (since the last report: %llu error%s, %llu events dropped)\n",
      last_error_.c_str(), static_cast<unsigned long long>(errors_since_report_),
      errors_since_report_ == 1 ? "" : "s", static_cast<unsigned long long>(dropped_since_report_));
  last_report_at_ = now;
  errors_since_report_ = 0;
  dropped_since_report_ = 0;
}

}  // namespace profilis
