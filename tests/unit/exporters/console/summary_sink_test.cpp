#include "exporters/console/summary_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <string>

namespace profilis {
namespace {

// What the sink wrote into a pipe, once `use` is done with it.
template <typename Use>
std::string written_by(Use use) {
  std::array<int, 2> fds{};
  EXPECT_EQ(::pipe(fds.data()), 0);
  {
    SummarySink sink(std::chrono::seconds(0), fds[1]);
    use(sink);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  ::close(fds[0]);
  return text;
}

TEST(SummarySink, shouldPrintAtExitWhatItSawEvenWhenNothing) {
  const std::string text = written_by([](SummarySink& sink) {
    sink.begin();
    sink.finalize();
  });
  EXPECT_NE(text.find("at exit"), std::string::npos) << text;
  EXPECT_NE(text.find("no events"), std::string::npos) << text;
}

// An agent that failed to start (a port in use) says so in its error: a summary of nothing would
// only hide it.
TEST(SummarySink, shouldPrintNothingWhenTheAgentNeverBeganTracing) {
  EXPECT_EQ(written_by([](SummarySink& sink) { sink.finalize(); }), "");
}

}  // namespace
}  // namespace profilis
