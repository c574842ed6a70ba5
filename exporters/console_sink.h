#pragma once

#include <cstdio>

#include "exporters/json_event.h"
#include "exporters/sink.h"

namespace profilis {

// Events as JSON on a stream (stdout by default). A batch is encoded into one buffer and written
// with one fwrite + fflush, so two events never interleave and output appears as it happens.
class ConsoleSink : public Sink {
 public:
  explicit ConsoleSink(JsonStyle style, std::FILE* stream = stdout);
  std::string_view name() const override { return "console"; }
  void write(std::span<const Event> batch) override;
  void finalize() override;

 private:
  JsonStyle style_;
  std::FILE* stream_;
  std::string buffer_;
};

}  // namespace profilis
