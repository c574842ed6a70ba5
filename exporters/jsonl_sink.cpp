#include "exporters/jsonl_sink.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <system_error>
#include <utility>

#include "exporters/json_event.h"

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

void write_all(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("jsonl: write " + path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
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

}  // namespace

std::filesystem::path rename_without_overwrite(const std::filesystem::path& from,
                                               const std::filesystem::path& dir,
                                               const std::string& prefix) {
  const std::string base = prefix + "-" + utc_stamp();
  for (int n = 0;; ++n) {
    std::filesystem::path to =
        dir / (n == 0 ? base + ".jsonl" : base + "-" + std::to_string(n) + ".jsonl");
    // RENAME_NOREPLACE makes "exists?" and "rename" one atomic step: no race can overwrite a file.
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
      fsync_dir(dir);
      return to;
    }
    if (errno != EEXIST) throw_errno("jsonl: rename " + from.string() + " to " + to.string());
  }
}

JsonlSink::JsonlSink(JsonlOptions options) : options_(std::move(options)) {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) throw std::system_error(ec, "jsonl: cannot create " + options_.dir.string());
  if (open_active() > 0) {
    recover_leftover();
    open_active();
  }
}

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) ::close(fd_);
}

std::filesystem::path JsonlSink::active_path() const {
  return options_.dir / (options_.prefix + "-active.jsonl.tmp");
}

off_t JsonlSink::open_active() {
  const auto path = active_path();
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("jsonl: open " + path.string());
    // The lock tells a live writer's file from a crashed one's leftover: a second agent on the
    // same directory and prefix must not "recover" (and so steal) the first one's active file.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      throw_errno("jsonl: " + path.string() +
                  " is being written by another process (another agent?); give each agent its own "
                  "--jsonl-dir or --jsonl-prefix");
    }
    struct stat opened {
    }, named{};
    // Locked, but the holder may have renamed it away just before: then start over on the name.
    if (::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
        opened.st_ino == named.st_ino && opened.st_dev == named.st_dev) {
      fd_ = fd;
      bytes_in_active_ = 0;
      return opened.st_size;
    }
    ::close(fd);
  }
}

void JsonlSink::recover_leftover() {
  const auto path = active_path();
  struct stat st {};
  ::fstat(fd_, &st);
  const off_t keep = complete_lines_size(fd_, st.st_size);
  if (keep != st.st_size) {
    ++recovered_partial_lines_;
    if (::ftruncate(fd_, keep) != 0) throw_errno("jsonl: truncate leftover " + path.string());
  }
  bytes_in_active_ = static_cast<std::uint64_t>(keep);
  finalize_active();
}

void JsonlSink::write(std::span<const Event> batch) {
  if (fd_ < 0) open_active();
  buffer_.clear();
  for (const Event& event : batch) append_json_event(buffer_, event);
  write_all(fd_, buffer_.data(), buffer_.size(), active_path().string());
  bytes_in_active_ += buffer_.size();
}

void JsonlSink::finalize_active() {
  if (fd_ < 0) return;
  // Closed (and so unlocked) only after the rename or unlink: no other writer can take over the
  // file in between.
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{std::exchange(fd_, -1)};
  ::fsync(closer.fd);
  if (bytes_in_active_ == 0) {
    ::unlink(active_path().c_str());  // an empty file carries nothing worth a name
    return;
  }
  finalized_.push_back(rename_without_overwrite(active_path(), options_.dir, options_.prefix));
}

void JsonlSink::finalize() { finalize_active(); }

}  // namespace profilis
