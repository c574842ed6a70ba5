#include "exporters/console_sink.h"

#include <cerrno>
#include <system_error>

namespace profilis {

ConsoleSink::ConsoleSink(JsonStyle style, std::FILE* stream) : style_(style), stream_(stream) {}

void ConsoleSink::write(std::span<const Event> batch) {
  buffer_.clear();
  for (const Event& event : batch) append_json_event(buffer_, event, style_);
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), stream_) != buffer_.size() ||
      std::fflush(stream_) != 0) {
    throw std::system_error(errno, std::generic_category(), "console: write to stdout failed");
  }
}

void ConsoleSink::finalize() { std::fflush(stream_); }

}  // namespace profilis
