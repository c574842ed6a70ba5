#include "agent/app/aggregate_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <string>
#include <vector>

#include "exporters/prometheus/prometheus_sink.h"

namespace profilis {
namespace {

AggregateSeries series(pid_t pid, std::uint64_t fn_id, std::vector<std::uint64_t> buckets,
                       std::uint64_t sum_ns) {
  AggregateSeries one{.pid = pid, .fn_id = fn_id, .total = {}};
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    one.total.buckets[b] = buckets[b];
    one.total.count += buckets[b];
  }
  one.total.sum_ns = sum_ns;
  return one;
}

TEST(AggregateFamilies, shouldServeCountsAndCumulativeBucketsInTheFunctionFamilies) {
  // 3 calls ≤ 5 ms, 1 in (10, 25] ms, 2 beyond 10 s.
  std::vector<std::uint64_t> buckets(PROFILIS_AGGREGATE_BUCKETS, 0);
  buckets[0] = 3;
  buckets[2] = 1;
  buckets[PROFILIS_AGGREGATE_BUCKETS - 1] = 2;
  const auto families = aggregate_families(
      {series(42, 1, buckets, 25'500'000'000)}, {"a", "api::get"},
      {.instance = "node-1", .service = "", .worker = ""}, [](pid_t) { return "shop"; });
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
  const auto families = aggregate_families({series(7, 0, buckets, 6'000'000)}, {"f"},
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

TEST(AggregateFamilies, shouldLeaveOutSeriesWithoutCallsOrWithAnUnknownFunction) {
  std::vector<std::uint64_t> one_call(PROFILIS_AGGREGATE_BUCKETS, 0);
  one_call[0] = 1;
  const auto families = aggregate_families(
      {series(1, 0, std::vector<std::uint64_t>(PROFILIS_AGGREGATE_BUCKETS, 0), 0),
       series(1, 5, one_call, 1)},
      {"f"}, {}, [](pid_t) { return "s"; });
  for (const auto& family : families) EXPECT_TRUE(family.metric.empty()) << family.name;
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
