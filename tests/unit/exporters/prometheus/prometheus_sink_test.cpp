#include "exporters/prometheus/prometheus_sink.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/common/promtool.h"

namespace profilis {
namespace {

using Labels = std::map<std::string, std::string>;

// By value: callers often pass the temporary result of Collect().
prometheus::MetricFamily family_named(const std::vector<prometheus::MetricFamily>& families,
                                      std::string_view name) {
  for (const auto& family : families) {
    if (family.name == name) return family;
  }
  throw std::runtime_error("no family " + std::string(name));
}

Labels labels_of(const prometheus::ClientMetric& metric) {
  Labels labels;
  for (const auto& label : metric.label) labels[label.name] = label.value;
  return labels;
}

// The series of `family` with exactly these labels.
prometheus::ClientMetric series(const prometheus::MetricFamily& family, const Labels& labels) {
  for (const auto& metric : family.metric) {
    if (labels_of(metric) == labels) return metric;
  }
  throw std::runtime_error("no such series in " + family.name);
}

Event req_event() {
  Event e;
  e.kind = EventKind::kReq;
  e.dur_ns = 42'000'000;  // 42 ms
  e.pid = 4242;
  e.service = "api";
  e.route = "/users/{id}";
  e.method = "GET";
  e.status = 404;
  return e;
}

Event fn_event(std::string fn = "handle(int)") {
  Event e;
  e.kind = EventKind::kFn;
  e.dur_ns = 7'000'000;  // 7 ms
  e.pid = 4242;
  e.service = "api";
  e.fn = std::move(fn);
  return e;
}

Event db_event() {
  Event e;
  e.kind = EventKind::kDb;
  e.dur_ns = 812'345;
  e.pid = 4242;
  e.service = "api";
  e.query = "SELECT ?";
  e.db_vendor = "postgresql";
  return e;
}

class PrometheusSinkTest : public ::testing::Test {
 protected:
  void write(std::vector<Event> events) { sink_.write(events); }
  std::vector<prometheus::MetricFamily> collect() const { return registry_.Collect(); }
  std::string text() const { return prometheus::TextSerializer().Serialize(collect()); }

  prometheus::Registry registry_;
  PrometheusSink sink_{
      registry_,
      {.instance = "host-1", .worker = "w1", .version = "1.2.3", .max_series_per_family = 2}};
};

TEST_F(PrometheusSinkTest, shouldBeNamedPrometheus) { EXPECT_EQ(sink_.name(), "prometheus"); }

// prometheus-cpp shows a family once it has a series; these have theirs from the start.
TEST_F(PrometheusSinkTest, shouldShowBuildInfoAndOverflowCountersBeforeTheFirstEvent) {
  const std::string exposition = text();
  EXPECT_NE(exposition.find("profilis_build_info{version=\"1.2.3\"} 1\n"), std::string::npos)
      << exposition;
  for (const char* family :
       {"profilis_http_requests_total", "profilis_http_request_duration_seconds",
        "profilis_function_calls_total", "profilis_function_duration_seconds",
        "profilis_db_queries_total", "profilis_db_query_duration_seconds"}) {
    const std::string line =
        "profilis_series_overflow_total{family=\"" + std::string(family) + "\"} 0\n";
    EXPECT_NE(exposition.find(line), std::string::npos) << line << exposition;
  }
}

TEST_F(PrometheusSinkTest, shouldMapReqEventsToTheHttpFamilies) {
  write({req_event(), req_event()});
  const auto families = collect();
  const Labels labels = {{"service", "api"},
                         {"instance", "host-1"},
                         {"worker", "w1"},
                         {"route", "/users/{id}"},
                         {"status", "404"}};
  const auto calls = family_named(families, "profilis_http_requests_total");
  EXPECT_EQ(calls.type, prometheus::MetricType::Counter);
  ASSERT_EQ(calls.metric.size(), 1u);
  EXPECT_EQ(series(calls, labels).counter.value, 2);
  const auto durations = family_named(families, "profilis_http_request_duration_seconds");
  EXPECT_EQ(durations.type, prometheus::MetricType::Histogram);
  ASSERT_EQ(durations.metric.size(), 1u);
  const auto histogram = series(durations, labels).histogram;
  EXPECT_EQ(histogram.sample_count, 2u);
  EXPECT_DOUBLE_EQ(histogram.sample_sum, 0.084);
}

TEST_F(PrometheusSinkTest, shouldMapFnEventsToTheFunctionFamilies) {
  write({fn_event()});
  const auto families = collect();
  const Labels labels = {
      {"service", "api"}, {"instance", "host-1"}, {"worker", "w1"}, {"function", "handle(int)"}};
  EXPECT_EQ(series(family_named(families, "profilis_function_calls_total"), labels).counter.value,
            1);
  const auto histogram =
      series(family_named(families, "profilis_function_duration_seconds"), labels).histogram;
  EXPECT_DOUBLE_EQ(histogram.sample_sum, 0.007);
  // 7 ms: not in le=0.005, in le=0.01.
  ASSERT_EQ(histogram.bucket.size(), kDurationBuckets.size() + 1);
  EXPECT_EQ(histogram.bucket[0].cumulative_count, 0u);
  EXPECT_EQ(histogram.bucket[1].cumulative_count, 1u);
}

TEST_F(PrometheusSinkTest, shouldUseTheDurationBucketsOfTheDesign) {
  write({fn_event()});
  const auto histogram =
      family_named(collect(), "profilis_function_duration_seconds").metric.at(0).histogram;
  ASSERT_EQ(histogram.bucket.size(), kDurationBuckets.size() + 1);
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    EXPECT_EQ(histogram.bucket[i].upper_bound, kDurationBuckets[i]);
  }
  EXPECT_EQ(histogram.bucket.back().upper_bound, std::numeric_limits<double>::infinity());
}

TEST_F(PrometheusSinkTest, shouldMapDbEventsToTheDbFamilies) {
  write({db_event()});
  const auto families = collect();
  const Labels labels = {
      {"service", "api"}, {"instance", "host-1"}, {"worker", "w1"}, {"db_vendor", "postgresql"}};
  EXPECT_EQ(series(family_named(families, "profilis_db_queries_total"), labels).counter.value, 1);
  EXPECT_DOUBLE_EQ(series(family_named(families, "profilis_db_query_duration_seconds"), labels)
                       .histogram.sample_sum,
                   0.000812345);
}

TEST_F(PrometheusSinkTest, shouldKeepOneSeriesPerLabelSet) {
  write({fn_event("a"), fn_event("b"), fn_event("a"), fn_event("a")});
  const auto calls = family_named(collect(), "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 2u);
  const Labels a = {
      {"service", "api"}, {"instance", "host-1"}, {"worker", "w1"}, {"function", "a"}};
  EXPECT_EQ(series(calls, a).counter.value, 3);
}

// The key is length-prefixed: values that concatenate alike are still different label sets.
TEST_F(PrometheusSinkTest, shouldNotConfuseLabelSetsThatConcatenateAlike) {
  Event first = req_event();
  first.route = "/a";
  first.status = 12;
  Event second = req_event();
  second.route = "/a1";
  second.status = 2;
  write({first, second});
  EXPECT_EQ(family_named(collect(), "profilis_http_requests_total").metric.size(), 2u);
}

TEST_F(PrometheusSinkTest, shouldFoldLabelSetsBeyondTheLimitIntoOther) {
  write({fn_event("a"), fn_event("b"), fn_event("c"), fn_event("d"), fn_event("a")});
  const auto families = collect();
  const auto calls = family_named(families, "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 3u);  // a, b and __other__
  const Labels other = {{"service", "__other__"},
                        {"instance", "__other__"},
                        {"worker", "__other__"},
                        {"function", "__other__"}};
  EXPECT_EQ(series(calls, other).counter.value, 2);  // c and d
  const Labels a = {
      {"service", "api"}, {"instance", "host-1"}, {"worker", "w1"}, {"function", "a"}};
  EXPECT_EQ(series(calls, a).counter.value, 2);  // known series keep counting
  EXPECT_EQ(series(family_named(families, "profilis_function_duration_seconds"), other)
                .histogram.sample_count,
            2u);
  const auto overflow = family_named(families, "profilis_series_overflow_total");
  EXPECT_EQ(series(overflow, {{"family", "profilis_function_calls_total"}}).counter.value, 2);
  EXPECT_EQ(series(overflow, {{"family", "profilis_function_duration_seconds"}}).counter.value, 2);
  EXPECT_EQ(series(overflow, {{"family", "profilis_http_requests_total"}}).counter.value, 0);
}

TEST_F(PrometheusSinkTest, shouldCountTheLimitPerKindOfEvent) {
  write({fn_event("a"), fn_event("b"), req_event(), db_event()});
  const auto families = collect();
  EXPECT_EQ(family_named(families, "profilis_http_requests_total").metric.size(), 1u);
  EXPECT_EQ(family_named(families, "profilis_db_queries_total").metric.size(), 1u);
  const auto overflow = family_named(families, "profilis_series_overflow_total");
  for (const auto& metric : overflow.metric) EXPECT_EQ(metric.counter.value, 0);
}

TEST_F(PrometheusSinkTest, shouldReplaceInvalidUtf8InLabelValues) {
  write({fn_event("bad\xff")});
  const auto calls = family_named(collect(), "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 1u);
  EXPECT_EQ(labels_of(calls.metric[0]).at("function"), "bad\xEF\xBF\xBD");
}

TEST(PrometheusSink, shouldUseThePidAsWorkerWhenNoneIsGiven) {
  prometheus::Registry registry;
  PrometheusSink sink(registry, {.instance = "host-1", .worker = ""});
  Event other_pid = fn_event();
  other_pid.pid = 77;
  const std::vector<Event> events = {fn_event(), other_pid};
  sink.write(events);
  const auto calls = family_named(registry.Collect(), "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 2u);
  std::set<std::string> workers;
  for (const auto& metric : calls.metric) workers.insert(labels_of(metric).at("worker"));
  EXPECT_EQ(workers, (std::set<std::string>{"4242", "77"}));
}

// --metric-labels: each event family gets the fields asked for, in every series; an event of a
// process outside Kubernetes has them empty.
class PrometheusSinkMetricLabelsTest : public ::testing::Test {
 protected:
  static Event in_pod(Event e, std::string pod) {
    e.container_id = std::string(64, 'a');
    e.k8s_namespace = "shop";
    e.k8s_pod = std::move(pod);
    e.k8s_container = "app";
    return e;
  }
  void write(std::vector<Event> events) { sink_.write(events); }
  std::vector<prometheus::MetricFamily> collect_families() const { return registry_.Collect(); }

  prometheus::Registry registry_;
  PrometheusSink sink_{registry_,
                       {.instance = "host-1",
                        .worker = "w1",
                        .max_series_per_family = 2,
                        .metric_labels = {MetricLabel::kK8sNamespace, MetricLabel::kK8sPod}}};
};

TEST_F(PrometheusSinkMetricLabelsTest, shouldAddTheAskedFieldsToEveryEventFamily) {
  write({in_pod(req_event(), "web-0"), in_pod(fn_event(), "web-0"), in_pod(db_event(), "web-0")});
  const auto families = collect_families();
  const Labels common = {{"service", "api"},
                         {"instance", "host-1"},
                         {"worker", "w1"},
                         {"k8s_namespace", "shop"},
                         {"k8s_pod", "web-0"}};
  auto with = [&](Labels own) {
    own.insert(common.begin(), common.end());
    return own;
  };
  EXPECT_EQ(series(family_named(families, "profilis_http_requests_total"),
                   with({{"route", "/users/{id}"}, {"status", "404"}}))
                .counter.value,
            1);
  EXPECT_EQ(series(family_named(families, "profilis_function_duration_seconds"),
                   with({{"function", "handle(int)"}}))
                .histogram.sample_count,
            1u);
  EXPECT_EQ(series(family_named(families, "profilis_db_queries_total"),
                   with({{"db_vendor", "postgresql"}}))
                .counter.value,
            1);
}

TEST_F(PrometheusSinkMetricLabelsTest, shouldGiveEmptyValuesOutsideKubernetes) {
  write({fn_event()});
  const auto calls = family_named(collect_families(), "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 1u);
  const Labels labels = labels_of(calls.metric[0]);
  EXPECT_EQ(labels.at("k8s_namespace"), "");
  EXPECT_EQ(labels.at("k8s_pod"), "");
  EXPECT_EQ(labels.count("container_id"), 0u);  // not asked for
}

// Each pod is a series of its own, so the limit counts pods too; the fold covers the added labels.
TEST_F(PrometheusSinkMetricLabelsTest, shouldKeepTheSeriesLimitWithTheAddedLabels) {
  write({in_pod(fn_event(), "web-0"), in_pod(fn_event(), "web-1"), in_pod(fn_event(), "web-2"),
         in_pod(fn_event(), "web-0")});
  const auto families = collect_families();
  const auto calls = family_named(families, "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 3u);  // web-0, web-1 and __other__
  const Labels other = {{"service", "__other__"},       {"instance", "__other__"},
                        {"worker", "__other__"},        {"function", "__other__"},
                        {"k8s_namespace", "__other__"}, {"k8s_pod", "__other__"}};
  EXPECT_EQ(series(calls, other).counter.value, 1);
  const auto overflow = family_named(families, "profilis_series_overflow_total");
  EXPECT_EQ(series(overflow, {{"family", "profilis_function_calls_total"}}).counter.value, 1);
}

// The key of a series has the added values: two pods never share one, whatever their names.
TEST_F(PrometheusSinkMetricLabelsTest, shouldNotConfuseAddedLabelsThatConcatenateAlike) {
  Event first = in_pod(fn_event("a"), "b");
  Event second = in_pod(fn_event("ab"), "");
  first.k8s_namespace = second.k8s_namespace = "";
  write({first, second});
  EXPECT_EQ(family_named(collect_families(), "profilis_function_calls_total").metric.size(), 2u);
}

TEST(PrometheusSink, shouldShareFamiliesWithAnotherSinkOnTheSameRegistry) {
  prometheus::Registry registry;
  PrometheusSink first(registry, {.instance = "i", .worker = "w"});
  PrometheusSink second(registry, {.instance = "i", .worker = "w"});
  const std::vector<Event> events = {fn_event()};
  first.write(events);
  second.write(events);
  const auto calls = family_named(registry.Collect(), "profilis_function_calls_total");
  ASSERT_EQ(calls.metric.size(), 1u);
  EXPECT_EQ(calls.metric[0].counter.value, 2);
}

// Hostile label values and folding, as prometheus-cpp writes them, through the real promtool.
TEST(PrometheusSink, shouldPassPromtoolCheckMetrics) {
  ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0) << "install the Debian package prometheus";
  prometheus::Registry registry;
  PrometheusSink sink(registry, {.instance = "host \"1\"", .max_series_per_family = 6});
  std::vector<Event> events;
  for (const std::string h : {"back\\slash", "dq\"uote", "new\nline", "caf\xC3\xA9", "bad\xff utf8",
                              "{}=,#", "", "\t\r"}) {
    events.push_back(fn_event(h));
    events.push_back(req_event());
    events.back().route = h;
    events.push_back(db_event());
    events.back().db_vendor = h;
  }
  sink.write(events);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  const auto result = testutil::promtool_check(text);
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- input ---\n" << text;
  EXPECT_EQ(result.output, "") << text;
}

TEST(PrometheusSink, promtoolShouldRejectABrokenExposition) {
  // Guards the test above: promtool really reads what we pipe to it.
  EXPECT_NE(testutil::promtool_check("# TYPE x counter\nx{a=\"\xff\"} 1\n").exit_code, 0);
}

}  // namespace
}  // namespace profilis
