// The one owner of a file descriptor: whoever holds it closes it, exactly once, on every way out
// (a constructor that throws half way included). Move-only, like the descriptor itself.
#pragma once

#include <unistd.h>

#include <utility>

namespace profilis {

class unique_fd {
 public:
  unique_fd() noexcept = default;
  // Takes `fd` over; a negative value (a failed open) holds nothing.
  explicit unique_fd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  // Gives the descriptor up without closing it: -1 when there is none.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the descriptor held (if any) and takes `fd` over. close(2)'s error is ignored: the
  // descriptor is gone either way on Linux, and retrying could close one another thread just got.
  void reset(int fd = -1) noexcept {
    const int old = std::exchange(fd_, fd < 0 ? -1 : fd);
    if (old >= 0 && old != fd_) ::close(old);
  }

 private:
  int fd_ = -1;
};

}  // namespace profilis
