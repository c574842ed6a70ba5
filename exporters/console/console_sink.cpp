#include "exporters/console/console_sink.h"

#include <cerrno>
#include <system_error>

namespace profilis {

ConsoleSink::ConsoleSink(JsonStyle style, int fd) : style_(style), fd_(fd) {}

void ConsoleSink::write(std::span<const Event> batch) {
  buffer_.clear();
  for (const Event& event : batch) append_json_event(buffer_, event, style_);
  for (std::size_t done = 0; done < buffer_.size();) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw std::system_error(n < 0 ? errno : EIO, std::generic_category(),
                              "console: write to stdout failed");
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace profilis
