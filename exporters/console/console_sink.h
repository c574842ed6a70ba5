#pragma once

#include <unistd.h>

#include "exporters/common/json_event.h"
#include "exporters/common/sink.h"

namespace profilis {

// Events as JSON on a file descriptor (stdout by default). A batch is encoded into one buffer and
// written with write(2) until it is all out, so two events never interleave and output appears as
// it happens. Not through stdio: a write blocked on a pipe nobody reads would hold stdout's lock,
// and the agent's exit (which flushes stdout) would wait for it forever.
class ConsoleSink : public Sink {
 public:
  explicit ConsoleSink(JsonStyle style, int fd = STDOUT_FILENO);
  std::string_view name() const override { return "console"; }
  void write(std::span<const Event> batch) override;
  void finalize() override {}

 private:
  JsonStyle style_;
  int fd_;
  std::string buffer_;
};

}  // namespace profilis
