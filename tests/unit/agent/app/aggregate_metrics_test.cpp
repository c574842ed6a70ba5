#include "agent/app/aggregate_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <string>
#include <vector>

#include "exporters/prometheus/prometheus_sink.h"

namespace profilis {
namespace {

profilis_aggregate calls(std::vector<std::uint64_t> buckets, std::uint64_t sum_ns) {
  profilis_aggregate total{};
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    total.buckets[b] = buckets[b];
    total.count += buckets[b];
  }
  total.sum_ns = sum_ns;
  return total;
}

NamedAggregate series(pid_t pid, std::string function, std::vector<std::uint64_t> buckets,
                      std::uint64_t sum_ns) {
  return {.pid = pid, .function = std::move(function), .total = calls(std::move(buckets), sum_ns)};
}

TEST(AggregateFamilies, shouldServeCountsAndCumulativeBucketsInTheFunctionFamilies) {
  // 3 calls ≤ 5 ms, 1 in (10, 25] ms, 2 beyond 10 s.
  std::vector<std::uint64_t> buckets(PROFILIS_AGGREGATE_BUCKETS, 0);
  buckets[0] = 3;
  buckets[2] = 1;
  buckets[PROFILIS_AGGREGATE_BUCKETS - 1] = 2;
  const auto families = aggregate_families({series(42, "api::get", buckets, 25'500'000'000)},
                                           {.instance = "node-1", .service = "", .worker = ""},
                                           [](pid_t) { return "shop"; });
  ASSERT_EQ(families.size(), 2u);
  const std::string text = prometheus::TextSerializer().Serialize(families);
  const std::string labels = R"(function="api::get",instance="node-1",service="shop",worker="42")";
  EXPECT_NE(text.find("profilis_function_calls_total{" + labels + "} 6\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("profilis_function_duration_seconds_bucket{" + labels + ",le=\"0.005\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("profilis_function_duration_seconds_bucket{" + labels + ",le=\"0.025\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("profilis_function_duration_seconds_bucket{" + labels + ",le=\"10\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("profilis_function_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 6\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("profilis_function_duration_seconds_sum{" + labels + "} 25.5\n"),
            std::string::npos)
      << text;
}

TEST(AggregateFamilies, shouldTakeServiceAndWorkerFromTheOptionsWhenGiven) {
  std::vector<std::uint64_t> buckets(PROFILIS_AGGREGATE_BUCKETS, 0);
  buckets[1] = 1;
  const auto families = aggregate_families({series(7, "f", buckets, 6'000'000)},
                                           {.instance = "i", .service = "svc", .worker = "w1"},
                                           [](pid_t) -> std::string {
                                             ADD_FAILURE() << "service looked up";
                                             return "";
                                           });
  const std::string text = prometheus::TextSerializer().Serialize(families);
  EXPECT_NE(
      text.find(
          R"(profilis_function_calls_total{function="f",instance="i",service="svc",worker="w1"} 1)"),
      std::string::npos)
      << text;
}

TEST(NamedAggregates, shouldLeaveOutSeriesWithoutCallsAnUnknownFunctionOrAnUnreadName) {
  std::vector<std::uint64_t> one_call(PROFILIS_AGGREGATE_BUCKETS, 0);
  one_call[0] = 1;
  const profilis_aggregate none =
      calls(std::vector<std::uint64_t>(PROFILIS_AGGREGATE_BUCKETS, 0), 0);
  const auto named = named_aggregates(
      {{.pid = 1, .fn_id = 0, .total = none}, {.pid = 1, .fn_id = 5, .total = calls(one_call, 1)}},
      {"f"}, {{.pid = 1, .name = "", .total = calls(one_call, 1)}});
  EXPECT_TRUE(named.empty());
}

// A Python function is one code object per definition: one defined in a loop, or two methods of
// one name in one file, are several series of one name, served as one.
TEST(NamedAggregates, shouldAddUpSeriesOfOneNameInOneProcess) {
  std::vector<std::uint64_t> one_call(PROFILIS_AGGREGATE_BUCKETS, 0);
  one_call[0] = 1;
  std::vector<std::uint64_t> two_slow(PROFILIS_AGGREGATE_BUCKETS, 0);
  two_slow[3] = 2;
  const auto named =
      named_aggregates({{.pid = 9, .fn_id = 0, .total = calls(one_call, 10)}}, {"scan"},
                       {{.pid = 9, .name = "app.py:get", .total = calls(one_call, 5)},
                        {.pid = 9, .name = "app.py:get", .total = calls(two_slow, 7)},
                        {.pid = 8, .name = "app.py:get", .total = calls(one_call, 1)}});
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].function, "scan");
  EXPECT_EQ(named[1].pid, 9);
  EXPECT_EQ(named[1].function, "app.py:get");
  EXPECT_EQ(named[1].total.count, 3u);
  EXPECT_EQ(named[1].total.sum_ns, 12u);
  EXPECT_EQ(named[1].total.buckets[0], 1u);
  EXPECT_EQ(named[1].total.buckets[3], 2u);
  EXPECT_EQ(named[2].pid, 8);
  EXPECT_EQ(named[2].total.count, 1u);
}

// The kernel's buckets are the sink's: a family mixing both must have one set of bounds.
TEST(AggregateFamilies, shouldCountInTheBucketsOfEveryDurationHistogram) {
  constexpr std::uint64_t kBoundsNs[] = PROFILIS_AGGREGATE_BOUNDS_NS;
  ASSERT_EQ(std::size(kBoundsNs) + 1, std::size_t{PROFILIS_AGGREGATE_BUCKETS});
  ASSERT_EQ(std::size(kBoundsNs), kDurationBuckets.size());
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    EXPECT_DOUBLE_EQ(static_cast<double>(kBoundsNs[i]) / 1e9, kDurationBuckets[i]) << i;
  }
}

TEST(MergeFamilies, shouldAddMetricsToTheFamilyOfTheSameNameAndAppendTheRest) {
  std::vector<prometheus::MetricFamily> into(2);
  into[0].name = "profilis_function_calls_total";
  into[0].metric.resize(1);
  into[1].name = "profilis_build_info";
  std::vector<prometheus::MetricFamily> more(2);
  more[0].name = "profilis_function_calls_total";
  more[0].metric.resize(2);
  more[1].name = "profilis_function_duration_seconds";
  more[1].metric.resize(1);
  merge_families(into, std::move(more));
  ASSERT_EQ(into.size(), 3u);
  EXPECT_EQ(into[0].metric.size(), 3u);
  EXPECT_EQ(into[2].name, "profilis_function_duration_seconds");
}

}  // namespace
}  // namespace profilis
