#include "exporters/prometheus/prometheus_text.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace profilis {
namespace {

std::string escaped(std::string_view text, EscapeContext context) {
  std::string out;
  append_escaped(out, text, context);
  return out;
}

std::string value(double v) {
  std::string out;
  append_value(out, v);
  return out;
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

// Pipes `text` through the real `promtool check metrics` (Debian package prometheus).
PromtoolResult promtool_check(const std::string& text) {
  char out_path[] = "/tmp/profilis-promtool.XXXXXX";
  const int fd = ::mkstemp(out_path);
  if (fd < 0) return {};
  ::close(fd);
  const std::string command = "/usr/bin/promtool check metrics >" + std::string(out_path) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "w");
  if (pipe == nullptr) return {};
  std::fwrite(text.data(), 1, text.size(), pipe);
  const int status = ::pclose(pipe);
  std::stringstream output;
  output << std::ifstream(out_path).rdbuf();
  ::unlink(out_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output.str()};
}

TEST(PrometheusText, shouldEscapeBackslash) {
  EXPECT_EQ(escaped(R"(a\b)", EscapeContext::kLabelValue), R"(a\\b)");
  EXPECT_EQ(escaped(R"(a\b)", EscapeContext::kHelp), R"(a\\b)");
}

TEST(PrometheusText, shouldEscapeNewline) {
  EXPECT_EQ(escaped("a\nb", EscapeContext::kLabelValue), R"(a\nb)");
  EXPECT_EQ(escaped("a\nb", EscapeContext::kHelp), R"(a\nb)");
}

TEST(PrometheusText, shouldEscapeDoubleQuoteInLabelValuesOnly) {
  EXPECT_EQ(escaped(R"(say "hi")", EscapeContext::kLabelValue), R"(say \"hi\")");
  EXPECT_EQ(escaped(R"(say "hi")", EscapeContext::kHelp), R"(say "hi")");
}

TEST(PrometheusText, shouldLeaveOtherBytesAlone) {
  EXPECT_EQ(escaped("tab\there caf\xC3\xA9 {}=,", EscapeContext::kLabelValue),
            "tab\there caf\xC3\xA9 {}=,");
}

TEST(PrometheusText, shouldPrintIntegersExactly) {
  EXPECT_EQ(value(0), "0");
  EXPECT_EQ(value(1), "1");
  EXPECT_EQ(value(-3), "-3");
  EXPECT_EQ(value(1e15), "1000000000000000");
  EXPECT_EQ(value(9007199254740991.0), "9007199254740991");
}

TEST(PrometheusText, shouldPrintFractionsInTheShortestExactForm) {
  EXPECT_EQ(value(0.005), "0.005");
  EXPECT_EQ(value(0.1), "0.1");
  EXPECT_EQ(value(2.5), "2.5");
  EXPECT_EQ(std::stod(value(1.0 / 3)), 1.0 / 3);
}

TEST(PrometheusText, shouldPrintNaNAndInfinities) {
  EXPECT_EQ(value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(value(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(PrometheusText, shouldEscapeHelpInTheHeader) {
  std::string out;
  append_header(out, {"m_total", "line\\one\nline two", MetricType::kCounter, {}, {}});
  EXPECT_EQ(out, "# HELP m_total line\\\\one\\nline two\n# TYPE m_total counter\n");
}

TEST(PrometheusText, shouldWriteHelpAndTypeForFamiliesWithoutSeries) {
  Registry registry;
  registry.add_counter("c_total", "a counter", {"a"});
  registry.add_gauge("g", "a gauge", {});
  registry.add_histogram("h_seconds", "a histogram", {"a"});
  const std::string text = render_text(registry);
  EXPECT_NE(text.find("# HELP c_total a counter\n# TYPE c_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP g a gauge\n# TYPE g gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP h_seconds a histogram\n# TYPE h_seconds histogram\n"),
            std::string::npos);
}

TEST(PrometheusText, shouldRenderCountersAndGaugesWithAndWithoutLabels) {
  FamilySnapshot counter{{"c_total", "h", MetricType::kCounter, {"a", "b"}, {}},
                         {{{"x", "y\"z"}, 3, {}}}};
  FamilySnapshot gauge{{"g", "h", MetricType::kGauge, {}, {}}, {{{}, -1.5, {}}}};
  std::string out;
  append_family(out, counter);
  append_family(out, gauge);
  EXPECT_EQ(out,
            "# HELP c_total h\n# TYPE c_total counter\nc_total{a=\"x\",b=\"y\\\"z\"} 3\n"
            "# HELP g h\n# TYPE g gauge\ng -1.5\n");
}

TEST(PrometheusText, shouldRenderCumulativeBucketsWithTheImplicitInf) {
  Registry registry;
  Histogram& h = registry.add_histogram("h_seconds", "help", {"fn"}, {0.1, 1}).labels({"f"});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(7);
  std::string out;
  append_family(out, registry.collect().back());
  EXPECT_EQ(out,
            "# HELP h_seconds help\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{fn=\"f\",le=\"0.1\"} 1\n"
            "h_seconds_bucket{fn=\"f\",le=\"1\"} 3\n"
            "h_seconds_bucket{fn=\"f\",le=\"+Inf\"} 4\n"
            "h_seconds_sum{fn=\"f\"} 8.05\n"
            "h_seconds_count{fn=\"f\"} 4\n");
}

TEST(PrometheusText, shouldRenderUnlabelledHistogramBucketsWithOnlyLe) {
  Registry registry;
  registry.add_histogram("h_seconds", "help", {}, {1}).labels({}).observe(2);
  std::string out;
  append_family(out, registry.collect().back());
  EXPECT_NE(out.find("h_seconds_bucket{le=\"1\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("h_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 2\nh_seconds_count 1\n"),
            std::string::npos);
}

TEST(PrometheusText, shouldRenderTheDesignBucketBounds) {
  Registry registry;
  registry.add_histogram("h_seconds", "help", {}).labels({});
  const std::string text = render_text(registry);
  for (const char* le :
       {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2", "5", "10", "+Inf"}) {
    EXPECT_NE(text.find("h_seconds_bucket{le=\"" + std::string(le) + "\"} 0\n"), std::string::npos)
        << le;
  }
}

TEST(PrometheusText, shouldRenderNonFiniteSampleValues) {
  Registry registry;
  registry.add_callback_gauge("g", "help", {"k"}, {"nan"},
                              [] { return std::numeric_limits<double>::quiet_NaN(); });
  registry.add_callback_gauge("g", "help", {"k"}, {"inf"},
                              [] { return -std::numeric_limits<double>::infinity(); });
  const std::string text = render_text(registry);
  EXPECT_NE(text.find("g{k=\"nan\"} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("g{k=\"inf\"} -Inf\n"), std::string::npos);
}

TEST(PrometheusText, shouldRenderTheOtherSeriesAndTheOverflowCount) {
  Registry registry(RegistryOptions{.max_series_per_family = 1});
  auto& family = registry.add_counter("c_total", "help", {"fn"});
  family.labels({"a"}).inc();
  family.labels({"b"}).inc();
  const std::string text = render_text(registry);
  EXPECT_NE(text.find("c_total{fn=\"__other__\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("profilis_series_overflow_total{family=\"c_total\"} 1\n"), std::string::npos);
}

// Every metric type, hostile label values, callbacks and folding, through the real promtool.
TEST(PrometheusText, shouldPassPromtoolCheckMetrics) {
  ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0) << "install the Debian package prometheus";
  Registry registry(RegistryOptions{.max_series_per_family = 3});
  auto& calls = registry.add_counter("app_calls_total", "Calls, \\ and \"quotes\"\nsecond line",
                                     {"service", "function"});
  auto& durations = registry.add_histogram("app_duration_seconds", "Durations.", {"function"});
  auto& level = registry.add_gauge("app_level", "A gauge.", {});
  const std::vector<std::string> hostile = {"back\\slash",  "dq\"uote", "new\nline", "caf\xC3\xA9",
                                            "bad\xff utf8", "{}=,#",    "",          "\t\r"};
  for (const std::string& h : hostile) {
    calls.labels({"svc", h}).inc(3);
    durations.labels({h}).observe(0.042);
  }
  level.labels({}).set(-0.25);
  registry.add_callback_counter("app_dropped_total", "Dropped.", {"stage"}, {"kernel"},
                                [] { return 12.0; });
  registry.add_callback_gauge("app_queue_depth", "Depth.", {}, {},
                              [] { return std::numeric_limits<double>::quiet_NaN(); });
  const std::string text = render_text(registry);
  const PromtoolResult result = promtool_check(text);
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- input ---\n" << text;
  EXPECT_EQ(result.output, "") << text;
}

TEST(PrometheusText, shouldBeRejectedByPromtoolWhenBroken) {
  // Guards the test above: promtool really reads what we pipe to it.
  const PromtoolResult result = promtool_check("# TYPE x counter\nx{a=\"\xff\"} 1\n");
  EXPECT_NE(result.exit_code, 0);
}

}  // namespace
}  // namespace profilis
