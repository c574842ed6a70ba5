#include "exporters/console/summary_sink.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace profilis {
namespace {

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed terminal: the summary is not worth failing for
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

SummarySink::SummarySink(std::chrono::seconds interval, int fd) : interval_(interval), fd_(fd) {}

void SummarySink::write(std::span<const Event> batch) {
  for (const Event& event : batch) table_.add(event);
  changed_ = changed_ || !batch.empty();
}

void SummarySink::tick() {
  if (interval_.count() == 0 || !changed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < interval_) return;
  last_ = now;
  print("so far");
}

void SummarySink::begin() { began_ = true; }

// An agent that failed to start has nothing to sum up: its error says what happened.
void SummarySink::finalize() {
  if (began_) print("at exit");
}

void SummarySink::print(const char* when) {
  changed_ = false;
  RenderOptions options;
  const bool tty = ::isatty(fd_) != 0;
  winsize size{};
  if (tty && ::ioctl(fd_, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    options.width = size.ws_col;
  } else if (const char* columns = std::getenv("COLUMNS"); columns && std::atoi(columns) > 0) {
    options.width = static_cast<std::size_t>(std::atoi(columns));
  }
  options.color = tty && std::getenv("NO_COLOR") == nullptr;
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count();
  const std::string title =
      "profilis-agent summary, " + std::string(when) + " (" + std::to_string(seconds) + " s)";
  if (table_.empty()) {
    write_all(fd_, title + ": no events\n");
    return;
  }
  write_all(fd_, "\n" + table_.render(options, title));
}

}  // namespace profilis
