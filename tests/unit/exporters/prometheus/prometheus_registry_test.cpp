#include "exporters/prometheus/prometheus_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "exporters/prometheus/prometheus_text.h"

namespace profilis {
namespace {

// By value: callers often pass the temporary result of collect().
FamilySnapshot family_named(const std::vector<FamilySnapshot>& families, std::string_view name) {
  for (const FamilySnapshot& family : families) {
    if (family.desc.name == name) return family;
  }
  throw std::runtime_error("no family " + std::string(name));
}

const SeriesSnapshot* series_with(const FamilySnapshot& family,
                                  const std::vector<std::string>& values) {
  for (const SeriesSnapshot& series : family.series) {
    if (series.label_values == values) return &series;
  }
  return nullptr;
}

double overflow_count(const Registry& registry, const std::string& family) {
  const FamilySnapshot overflow = family_named(registry.collect(), kSeriesOverflowFamily);
  const auto* series = series_with(overflow, {family});
  return series == nullptr ? -1 : series->value;
}

TEST(PrometheusRegistry, shouldReturnTheSameSeriesForTheSameLabels) {
  Registry registry;
  auto& family = registry.add_counter("c_total", "help", {"a", "b"});
  Counter& first = family.labels({"x", "y"});
  Counter& again = family.labels({"x", "y"});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &family.labels({"x", "z"}));
  EXPECT_EQ(family.size(), 2u);
}

TEST(PrometheusRegistry, shouldKeepTuplesApartWhatBytesTheyHold) {
  Registry registry;
  auto& family = registry.add_counter("c_total", "help", {"a", "b"});
  using namespace std::string_view_literals;
  EXPECT_NE(&family.labels({"ab", "c"}), &family.labels({"a", "bc"}));
  EXPECT_NE(&family.labels({"a\0"sv, "b"}), &family.labels({"a", "\0b"sv}));
}

TEST(PrometheusRegistry, shouldCountCounterIncrements) {
  Registry registry;
  Counter& counter = registry.add_counter("c_total", "help", {}).labels({});
  counter.inc();
  counter.inc(2.5);
  EXPECT_DOUBLE_EQ(counter.value(), 3.5);
}

TEST(PrometheusRegistry, shouldIgnoreNegativeAndNaNCounterIncrements) {
  Registry registry;
  Counter& counter = registry.add_counter("c_total", "help", {}).labels({});
  counter.inc(4);
  counter.inc(-1);
  counter.inc(std::nan(""));
  EXPECT_DOUBLE_EQ(counter.value(), 4);
}

TEST(PrometheusRegistry, shouldSetIncrementAndDecrementGauge) {
  Registry registry;
  Gauge& gauge = registry.add_gauge("g", "help", {}).labels({});
  gauge.set(10);
  gauge.inc(2);
  gauge.dec(5);
  EXPECT_DOUBLE_EQ(gauge.value(), 7);
}

TEST(PrometheusRegistry, shouldCountAValueOnABoundInThatBoundsBucket) {
  Histogram histogram(kDurationBuckets);
  histogram.observe(0.005);  // le means "less than or equal"
  histogram.observe(0.0051);
  const HistogramData data = histogram.collect();
  ASSERT_EQ(data.cumulative.size(), kDurationBuckets.size() + 1);
  EXPECT_EQ(data.cumulative[0], 1u);
  EXPECT_EQ(data.cumulative[1], 2u);
}

TEST(PrometheusRegistry, shouldCountLargeValuesAndNaNOnlyInTheInfBucket) {
  Histogram histogram(kDurationBuckets);
  histogram.observe(11);
  histogram.observe(std::nan(""));
  const HistogramData data = histogram.collect();
  EXPECT_EQ(data.cumulative[kDurationBuckets.size() - 1], 0u);
  EXPECT_EQ(data.cumulative.back(), 2u);
}

TEST(PrometheusRegistry, shouldMakeBucketsCumulativeAndDeriveTheCount) {
  Histogram histogram(kDurationBuckets);
  for (double v : {0.001, 0.02, 0.02, 0.3, 3.0}) histogram.observe(v);
  const HistogramData data = histogram.collect();
  const std::vector<std::uint64_t> expected = {1, 1, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5};
  EXPECT_EQ(data.cumulative, expected);
  EXPECT_EQ(data.count, 5u);
  EXPECT_DOUBLE_EQ(data.sum, 0.001 + 0.02 + 0.02 + 0.3 + 3.0);
}

TEST(PrometheusRegistry, shouldUseTheDesignBucketsByDefault) {
  Registry registry;
  auto& family = registry.add_histogram("h_seconds", "help", {});
  const std::vector<double> expected = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10};
  EXPECT_EQ(family.desc().bounds, expected);
}

TEST(PrometheusRegistry, shouldFoldLabelSetsBeyondTheLimitIntoOther) {
  Registry registry(RegistryOptions{.max_series_per_family = 3});
  auto& family = registry.add_counter("c_total", "help", {"a", "b"});
  for (const char* v : {"1", "2", "3", "4", "5"}) family.labels({v, "x"}).inc();
  const FamilySnapshot snapshot = family.collect();
  ASSERT_EQ(snapshot.series.size(), 4u);
  const auto* other = series_with(snapshot, {"__other__", "__other__"});
  ASSERT_NE(other, nullptr);
  EXPECT_DOUBLE_EQ(other->value, 2);
  EXPECT_EQ(overflow_count(registry, "c_total"), 2);
}

TEST(PrometheusRegistry, shouldKeepServingExistingSeriesOnceFull) {
  Registry registry(RegistryOptions{.max_series_per_family = 1});
  auto& family = registry.add_counter("c_total", "help", {"a"});
  Counter& kept = family.labels({"kept"});
  family.labels({"folded"});
  EXPECT_EQ(&family.labels({"kept"}), &kept);
  EXPECT_EQ(overflow_count(registry, "c_total"), 1);
}

TEST(PrometheusRegistry, shouldCountEveryFoldedLookup) {
  Registry registry(RegistryOptions{.max_series_per_family = 1});
  auto& family = registry.add_histogram("h_seconds", "help", {"a"});
  family.labels({"kept"});
  for (int i = 0; i < 3; ++i) family.labels({"folded"}).observe(1);
  EXPECT_EQ(overflow_count(registry, "h_seconds"), 3);
  EXPECT_EQ(family.size(), 2u);
}

TEST(PrometheusRegistry, shouldShareTheOtherSeriesWithALiteralOtherLabelSet) {
  Registry registry(RegistryOptions{.max_series_per_family = 1});
  auto& family = registry.add_counter("c_total", "help", {"a"});
  Counter& literal = family.labels({"__other__"});
  EXPECT_EQ(&family.labels({"new"}), &literal);
  EXPECT_EQ(family.size(), 1u);
}

TEST(PrometheusRegistry, shouldShowAZeroOverflowCountForEveryFamily) {
  Registry registry;
  registry.add_counter("c_total", "help", {});
  registry.add_histogram("h_seconds", "help", {});
  EXPECT_EQ(overflow_count(registry, "c_total"), 0);
  EXPECT_EQ(overflow_count(registry, "h_seconds"), 0);
}

TEST(PrometheusRegistry, shouldRejectAWrongNumberOfLabelValues) {
  Registry registry;
  auto& family = registry.add_counter("c_total", "help", {"a", "b"});
  EXPECT_THROW(family.labels({"only one"}), std::invalid_argument);
}

TEST(PrometheusRegistry, shouldRejectNamesTheFormatForbids) {
  Registry registry;
  EXPECT_THROW(registry.add_counter("1bad", "h", {}), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("bad-name", "h", {}), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("c_total", "h", {"bad:label"}), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("c_total", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("c_total", "h", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.add_histogram("h_seconds", "h", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.add_histogram("h_seconds", "h", {}, {1, 0.5}), std::invalid_argument);
}

TEST(PrometheusRegistry, shouldReturnTheExistingFamilyWhenAddedAgainAlike) {
  Registry registry;
  auto& first = registry.add_counter("c_total", "help", {"a"});
  EXPECT_EQ(&registry.add_counter("c_total", "help", {"a"}), &first);
}

TEST(PrometheusRegistry, shouldRejectTheSameNameWithAnotherShape) {
  Registry registry;
  registry.add_counter("m", "help", {"a"});
  EXPECT_THROW(registry.add_counter("m", "help", {"b"}), std::invalid_argument);
  EXPECT_THROW(registry.add_gauge("m", "help", {"a"}), std::invalid_argument);
  EXPECT_THROW(registry.add_callback_counter("m", "help", {"a"}, {"x"}, [] { return 1.0; }),
               std::invalid_argument);
}

TEST(PrometheusRegistry, shouldReadCallbacksAtEveryCollection) {
  Registry registry;
  double depth = 3;
  registry.add_callback_gauge("queue_depth", "help", {}, {}, [&] { return depth; });
  EXPECT_EQ(family_named(registry.collect(), "queue_depth").series.at(0).value, 3);
  depth = 7;
  EXPECT_EQ(family_named(registry.collect(), "queue_depth").series.at(0).value, 7);
}

TEST(PrometheusRegistry, shouldHoldSeveralLabelSetsInOneCallbackFamily) {
  Registry registry;
  registry.add_callback_counter("dropped_total", "help", {"stage"}, {"kernel"}, [] { return 1.0; });
  registry.add_callback_counter("dropped_total", "help", {"stage"}, {"collector"},
                                [] { return 2.0; });
  const FamilySnapshot family = family_named(registry.collect(), "dropped_total");
  EXPECT_EQ(family.desc.type, MetricType::kCounter);
  ASSERT_EQ(family.series.size(), 2u);
  EXPECT_EQ(series_with(family, {"kernel"})->value, 1);
  EXPECT_EQ(series_with(family, {"collector"})->value, 2);
}

TEST(PrometheusRegistry, shouldRejectACallbackLabelSetAddedTwice) {
  Registry registry;
  registry.add_callback_counter("d_total", "help", {"stage"}, {"kernel"}, [] { return 1.0; });
  EXPECT_THROW(
      registry.add_callback_counter("d_total", "help", {"stage"}, {"kernel"}, [] { return 1.0; }),
      std::invalid_argument);
  EXPECT_THROW(registry.add_callback_gauge("d_total", "help", {"stage"}, {"x"}, [] { return 1.0; }),
               std::invalid_argument);
}

TEST(PrometheusRegistry, shouldReportNaNWhenACallbackThrows) {
  Registry registry;
  registry.add_callback_gauge("g", "help", {}, {},
                              []() -> double { throw std::runtime_error("x"); });
  EXPECT_TRUE(std::isnan(family_named(registry.collect(), "g").series.at(0).value));
}

TEST(PrometheusRegistry, shouldReplaceInvalidUtf8InLabelValues) {
  Registry registry;
  auto& family = registry.add_counter("c_total", "help", {"fn"});
  Counter& first = family.labels({"f\xff"});
  EXPECT_EQ(&family.labels({"f\xfe"}), &first);  // both read "f\uFFFD": one series, not two
  EXPECT_EQ(family.collect().series.at(0).label_values.at(0), "f\xEF\xBF\xBD");
  EXPECT_EQ(family.labels({"caf\xC3\xA9"}).value(), 0);  // valid UTF-8 kept as is
  EXPECT_NE(series_with(family.collect(), {"caf\xC3\xA9"}), nullptr);
}

TEST(PrometheusRegistry, shouldListFamiliesInRegistrationOrder) {
  Registry registry;
  registry.add_gauge("b", "help", {});
  registry.add_gauge("a", "help", {});
  const auto families = registry.collect();
  ASSERT_EQ(families.size(), 3u);
  EXPECT_EQ(families[0].desc.name, kSeriesOverflowFamily);
  EXPECT_EQ(families[1].desc.name, "b");
  EXPECT_EQ(families[2].desc.name, "a");
}

// One thread observes (creating series too) while another collects and renders in a loop: every
// snapshot must be self-consistent and counts must never go back. Run under ASan/TSan in CI.
TEST(PrometheusRegistry, shouldStayConsistentWhileRenderingDuringObservation) {
  Registry registry(RegistryOptions{.max_series_per_family = 50});
  auto& histograms = registry.add_histogram("h_seconds", "help", {"fn"});
  auto& counters = registry.add_counter("c_total", "help", {"fn"});
  constexpr int kObservations = 200000;
  std::atomic<bool> done{false};
  std::thread observer([&] {
    for (int i = 0; i < kObservations; ++i) {
      const std::string fn = "f" + std::to_string(i % 100);  // half of them fold
      histograms.labels({fn}).observe((i % 1000) / 100.0);
      counters.labels({fn}).inc();
    }
    done = true;
  });
  std::uint64_t last_total = 0;
  int renders = 0;
  while (!done || renders == 0) {
    EXPECT_FALSE(render_text(registry).empty());
    std::uint64_t total = 0;
    for (const SeriesSnapshot& s : histograms.collect().series) {
      const auto& c = s.histogram.cumulative;
      ASSERT_EQ(s.histogram.count, c.back());
      for (std::size_t i = 1; i < c.size(); ++i) ASSERT_LE(c[i - 1], c[i]);
      total += s.histogram.count;
    }
    EXPECT_GE(total, last_total);
    last_total = total;
    ++renders;
  }
  observer.join();
  std::uint64_t total = 0;
  for (const SeriesSnapshot& s : histograms.collect().series) total += s.histogram.count;
  EXPECT_EQ(total, static_cast<std::uint64_t>(kObservations));
  EXPECT_EQ(histograms.size(), 51u);
  EXPECT_GT(renders, 0);
}

}  // namespace
}  // namespace profilis
