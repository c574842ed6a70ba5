// --summary[=SECONDS]: every interval, and once more at exit, the summary table on a file
// descriptor (stderr: stdout keeps the console sink's JSON), fitted to the terminal's width and in
// bold there; plain text, 100 columns, into a pipe or file.
#pragma once

#include <unistd.h>

#include <chrono>

#include "exporters/common/sink.h"
#include "exporters/console/summary_table.h"

namespace profilis {

class SummarySink : public Sink {
 public:
  // `interval` zero: only at exit.
  SummarySink(std::chrono::seconds interval, int fd = STDERR_FILENO);
  std::string_view name() const override { return "summary"; }
  void write(std::span<const Event> batch) override;
  void tick() override;
  void begin() override;
  void finalize() override;

 private:
  void print(const char* when);

  std::chrono::seconds interval_;
  int fd_;
  SummaryTable table_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = started_;
  bool changed_ = false;
  bool began_ = false;  // the agent started tracing
};

}  // namespace profilis
