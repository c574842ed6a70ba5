#include "agent/app/option_values.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "agent/common/errors.h"
#include "tests/unit/agent/app/usage_error_of.h"

namespace profilis {
namespace {

using std::chrono::nanoseconds;

// ---- parse_count ----

TEST(ParseCount, shouldAcceptDecimalDigitsWithinTheRange) {
  EXPECT_EQ(parse_count("0", 0, 10), 0u);
  EXPECT_EQ(parse_count("10", 0, 10), 10u);
  EXPECT_EQ(parse_count("007", 0, 10), 7u);
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(parse_count("18446744073709551615", 0, kMax), kMax);
}

TEST(ParseCount, shouldCallOverflowAndNegativeValuesOutOfRange) {
  for (const char* text : {"11", "18446744073709551616", "99999999999999999999999", "-1", "-0"}) {
    SCOPED_TRACE(text);
    const std::string message = usage_error_of([&] { parse_count(text, 0, 10); });
    EXPECT_NE(message.find("out of range (0 to 10)"), std::string::npos) << message;
    EXPECT_NE(message.find(text), std::string::npos) << message;
  }
  EXPECT_NE(usage_error_of([] { parse_count("4", 5, 10); }).find("out of range"),
            std::string::npos);
}

TEST(ParseCount, shouldRefuseAnythingButDigits) {
  for (const char* text : {"", " 1", "1 ", "+1", "0x1", "1.0", "1e1", "1k", "one", "-", "--1"}) {
    SCOPED_TRACE(std::string("'") + text + "'");
    const std::string message = usage_error_of([&] { parse_count(text, 0, 10); });
    EXPECT_NE(message.find("not a whole number"), std::string::npos) << message;
  }
}

// ---- parse_duration ----

TEST(ParseDuration, shouldParseEveryUnit) {
  struct Case {
    const char* text;
    std::int64_t ns;
  };
  for (const Case& c :
       {Case{"500ns", 500}, Case{"250us", 250'000}, Case{"1ms", 1'000'000},
        Case{"1.5s", 1'500'000'000}, Case{"2m", 120'000'000'000}, Case{"1h", 3'600'000'000'000},
        Case{"0ns", 0}, Case{"0.5ms", 500'000}, Case{"1.5ms", 1'500'000},
        Case{"10s", 10'000'000'000}, Case{"0.25h", 900'000'000'000},
        Case{"1000000000s", 1'000'000'000'000'000'000}}) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_duration(c.text, {}), nanoseconds(c.ns));
  }
}

TEST(ParseDuration, shouldReadABareNumberInTheGivenUnit) {
  EXPECT_EQ(parse_duration("10", {.bare_unit = 1s}), 10s);
  EXPECT_EQ(parse_duration("1.5", {.bare_unit = 1s}), 1500ms);
  EXPECT_EQ(parse_duration("500", {.bare_unit = 1ms}), 500ms);
  EXPECT_EQ(parse_duration("500us", {.bare_unit = 1ms}), 500us);  // a unit still wins
}

TEST(ParseDuration, shouldRequireAUnitWithoutABareUnit) {
  const std::string message = usage_error_of([] { parse_duration("5", {}); });
  EXPECT_NE(message.find("unit is missing"), std::string::npos) << message;
}

TEST(ParseDuration, shouldRoundFractionsOfANanosecondUp) {
  EXPECT_EQ(parse_duration("0.1ns", {}), 1ns);
  EXPECT_EQ(parse_duration("1.0001ns", {}), 2ns);
  EXPECT_EQ(parse_duration("0.0000000001s", {}), 1ns);
  EXPECT_EQ(parse_duration("0.0000000000000000000001h", {}), 1ns);  // past 18 fraction digits
  EXPECT_EQ(parse_duration("1.000000000000000000000s", {}), 1s);    // zeros past them: exact
  EXPECT_EQ(parse_duration("0.333333333333333333333333h", {}), 1'200'000'000'000ns);
}

TEST(ParseDuration, shouldRejectMalformedText) {
  for (const char* text :
       {"",     "ms",   "1 ms", " 1ms",  "1ms ", "1MS",   "1msx", "nanms",  "infs", "1d", "us5",
        "1e3s", "1.ms", ".5s",  "1..5s", "+1s",  "0x10s", "1,5s", "1.5.5s", "1sms", "s1"}) {
    SCOPED_TRACE(std::string("'") + text + "'");
    const std::string message = usage_error_of([&] { (void)parse_duration(text, {}); });
    EXPECT_NE(message.find("not a duration"), std::string::npos) << message;
  }
}

TEST(ParseDuration, shouldCallNegativeAndHugeDurationsOutOfRange) {
  for (const char* text : {"-1ms", "-0.5", "876000.000001h", "876001h", "3153600000.1s",
                           "99999999999999999999999h", "18446744073709551616ns"}) {
    SCOPED_TRACE(text);
    const std::string message =
        usage_error_of([&] { (void)parse_duration(text, {.bare_unit = 1s}); });
    EXPECT_NE(message.find("out of range (0s to 100 years)"), std::string::npos) << message;
  }
  EXPECT_EQ(parse_duration("876000h", {}), kMaxDuration);
  EXPECT_EQ(parse_duration("3153600000s", {}), kMaxDuration);
}

TEST(ParseDuration, shouldCheckTheRangeItIsGiven) {
  const DurationSyntax syntax{.bare_unit = 1ms, .min = 10ms, .max = 1h};
  EXPECT_EQ(parse_duration("10", syntax), 10ms);
  EXPECT_EQ(parse_duration("60m", syntax), 1h);
  for (const char* text : {"9", "9.9ms", "60.1m", "2h"}) {
    SCOPED_TRACE(text);
    const std::string message = usage_error_of([&] { (void)parse_duration(text, syntax); });
    EXPECT_NE(message.find("out of range (10ms to 1h)"), std::string::npos) << message;
  }
}

TEST(ParseDuration, shouldNotReadPastTheView) {
  const std::string backing = "250usXYZ";
  EXPECT_EQ(parse_duration(std::string_view(backing).substr(0, 5), {}), 250us);
  EXPECT_FALSE(usage_error_of([&] {
                 parse_duration(std::string_view(backing).substr(0, 3), {});
               }).empty());  // "250"
  const std::string dot = "1.5s";
  EXPECT_FALSE(usage_error_of([&] {
                 parse_duration(std::string_view(dot).substr(0, 2), {});
               }).empty());  // "1."
}

TEST(FormatDuration, shouldUseTheLargestExactUnit) {
  EXPECT_EQ(format_duration(0ns), "0s");
  EXPECT_EQ(format_duration(1ns), "1ns");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(10ms), "10ms");
  EXPECT_EQ(format_duration(3600s), "1h");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(kMaxDuration), "100 years");
}

// ---- parse_ring_buffer_size ----

TEST(ParseRingBufferSize, shouldAcceptBytesAndBinaryUnits) {
  const struct {
    const char* text;
    std::uint32_t bytes;
  } cases[] = {{"4096", 4096},      {"4K", 4096},          {"4k", 4096},       {"64KiB", 64u << 10},
               {"16M", 16u << 20},  {"16MB", 16u << 20},   {"8mib", 8u << 20}, {"1G", 1u << 30},
               {"1024M", 1u << 30}, {"1048576B", 1u << 20}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_ring_buffer_size(c.text), c.bytes);
  }
}

TEST(ParseRingBufferSize, shouldRejectSizesTheKernelRefusesQuotingThem) {
  for (const char* text :
       {"", "0", "1", "2048", "3000", "5K", "12M", "2G", "4096G", "-4K", "16Q", "16MM", "M", "abc",
        "16 M", "99999999999999999999999", "18446744073709551616"}) {
    SCOPED_TRACE(text);
    const std::string message = usage_error_of([&] { (void)parse_ring_buffer_size(text); });
    EXPECT_NE(message.find(std::string("'") + text + "'"), std::string::npos) << message;
  }
}

// ---- parse_metric_labels ----

TEST(ParseMetricLabels, shouldAcceptACommaListInItsOrderWithoutRepeats) {
  EXPECT_EQ(parse_metric_labels(""), std::vector<MetricLabel>{});
  EXPECT_EQ(parse_metric_labels("k8s_pod,container_id,k8s_pod"),
            (std::vector<MetricLabel>{MetricLabel::kK8sPod, MetricLabel::kContainerId}));
  EXPECT_EQ(parse_metric_labels("container_id,k8s_namespace,k8s_pod,k8s_container").size(), 4u);
}

TEST(ParseMetricLabels, shouldRefuseAnUnknownNameWithTheValidOnesAndTheClosest) {
  const std::string message = usage_error_of([] { parse_metric_labels("k8s_namespace,k8s_pods"); });
  EXPECT_NE(message.find("'k8s_pods' is not a metric label (did you mean 'k8s_pod'?)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("container_id, k8s_namespace, k8s_pod, k8s_container"), std::string::npos)
      << message;
  for (const char* text : {"pid", "k8s_pod,", ",k8s_pod", "K8S_POD", "k8s_pod k8s_namespace"}) {
    EXPECT_FALSE(usage_error_of([&] { parse_metric_labels(text); }).empty()) << text;
  }
}

// ---- parse_comm_glob ----

TEST(ParseCommGlob, shouldTakeStarsAndQuestionMarksUpToThirtyOneCharacters) {
  EXPECT_EQ(parse_comm_glob("python*"), "python*");
  EXPECT_EQ(parse_comm_glob("p?stgres"), "p?stgres");
  EXPECT_EQ(parse_comm_glob(std::string(31, 'a')), std::string(31, 'a'));
  EXPECT_NE(usage_error_of([] { parse_comm_glob(std::string(32, 'a')); }).find("longer than 31"),
            std::string::npos);
  for (const char* text : {"", "[ab]", "a\\*"}) {
    EXPECT_FALSE(usage_error_of([&] { parse_comm_glob(text); }).empty()) << text;
  }
}

// ---- parse_choice, parse_bool ----

TEST(ParseChoice, shouldAcceptOnlyTheChoicesListingThem) {
  EXPECT_EQ(parse_choice("raw", {"redacted", "raw", "off"}), "raw");
  const std::string message = usage_error_of([] { parse_choice("RAW", {"redacted", "raw"}); });
  EXPECT_NE(message.find("'RAW' is not one of redacted, raw"), std::string::npos) << message;
  EXPECT_TRUE(parse_bool("true"));
  EXPECT_FALSE(parse_bool("false"));
  EXPECT_FALSE(usage_error_of([] { parse_bool("1"); }).empty());
}

}  // namespace
}  // namespace profilis
