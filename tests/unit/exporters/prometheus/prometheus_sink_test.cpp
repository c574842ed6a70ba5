#include "exporters/prometheus/prometheus_sink.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
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
  std::vector<FamilySnapshot> collect() const { return registry_.collect(); }

  Registry registry_{RegistryOptions{.max_series_per_family = 2}};
  PrometheusSink sink_{registry_, {.instance = "host-1", .worker = "w1", .version = "1.2.3"}};
};

TEST_F(PrometheusSinkTest, shouldBeNamedPrometheus) { EXPECT_EQ(sink_.name(), "prometheus"); }

TEST_F(PrometheusSinkTest, shouldRegisterEveryFamilyBeforeTheFirstEvent) {
  const std::string text = render_text(registry_);
  for (const char* header :
       {"# TYPE profilis_http_requests_total counter",
        "# TYPE profilis_http_request_duration_seconds histogram",
        "# TYPE profilis_function_calls_total counter",
        "# TYPE profilis_function_duration_seconds histogram",
        "# TYPE profilis_db_queries_total counter",
        "# TYPE profilis_db_query_duration_seconds histogram", "# TYPE profilis_build_info gauge",
        "# TYPE profilis_series_overflow_total counter"}) {
    EXPECT_NE(text.find(header), std::string::npos) << header;
  }
}

TEST_F(PrometheusSinkTest, shouldExposeBuildInfo) {
  EXPECT_NE(render_text(registry_).find("profilis_build_info{version=\"1.2.3\"} 1\n"),
            std::string::npos);
}

TEST_F(PrometheusSinkTest, shouldMapReqEventsToTheHttpFamilies) {
  write({req_event(), req_event()});
  const auto families = collect();
  const auto& calls = family_named(families, "profilis_http_requests_total");
  const std::vector<std::string> names = {"service", "instance", "worker", "route", "status"};
  EXPECT_EQ(calls.desc.label_names, names);
  ASSERT_EQ(calls.series.size(), 1u);
  const std::vector<std::string> values = {"api", "host-1", "w1", "/users/{id}", "404"};
  EXPECT_EQ(calls.series[0].label_values, values);
  EXPECT_EQ(calls.series[0].value, 2);
  const auto& durations = family_named(families, "profilis_http_request_duration_seconds");
  ASSERT_EQ(durations.series.size(), 1u);
  EXPECT_EQ(durations.series[0].label_values, values);
  EXPECT_EQ(durations.series[0].histogram.count, 2u);
  EXPECT_DOUBLE_EQ(durations.series[0].histogram.sum, 0.084);
}

TEST_F(PrometheusSinkTest, shouldMapFnEventsToTheFunctionFamilies) {
  write({fn_event()});
  const auto families = collect();
  const auto& calls = family_named(families, "profilis_function_calls_total");
  const std::vector<std::string> names = {"service", "instance", "worker", "function"};
  EXPECT_EQ(calls.desc.label_names, names);
  const std::vector<std::string> values = {"api", "host-1", "w1", "handle(int)"};
  ASSERT_EQ(calls.series.size(), 1u);
  EXPECT_EQ(calls.series[0].label_values, values);
  EXPECT_EQ(calls.series[0].value, 1);
  const auto& durations = family_named(families, "profilis_function_duration_seconds");
  ASSERT_EQ(durations.series.size(), 1u);
  EXPECT_EQ(durations.series[0].label_values, values);
  // 7 ms: not in le=0.005, in le=0.01.
  EXPECT_EQ(durations.series[0].histogram.cumulative[0], 0u);
  EXPECT_EQ(durations.series[0].histogram.cumulative[1], 1u);
  EXPECT_DOUBLE_EQ(durations.series[0].histogram.sum, 0.007);
}

TEST_F(PrometheusSinkTest, shouldMapDbEventsToTheDbFamilies) {
  write({db_event()});
  const auto families = collect();
  const std::vector<std::string> values = {"api", "host-1", "w1", "postgresql"};
  const auto& calls = family_named(families, "profilis_db_queries_total");
  ASSERT_EQ(calls.series.size(), 1u);
  EXPECT_EQ(calls.desc.label_names.back(), "db_vendor");
  EXPECT_EQ(calls.series[0].label_values, values);
  const auto& durations = family_named(families, "profilis_db_query_duration_seconds");
  ASSERT_EQ(durations.series.size(), 1u);
  EXPECT_DOUBLE_EQ(durations.series[0].histogram.sum, 0.000812345);
  EXPECT_TRUE(family_named(families, "profilis_function_calls_total").series.empty());
}

TEST(PrometheusSink, shouldUseThePidAsWorkerWhenNoneIsGiven) {
  Registry registry;
  PrometheusSink sink(registry, {.instance = "host-1", .worker = ""});
  const std::vector<Event> events = {fn_event()};
  sink.write(events);
  const auto& calls = family_named(registry.collect(), "profilis_function_calls_total");
  ASSERT_EQ(calls.series.size(), 1u);
  EXPECT_EQ(calls.series[0].label_values.at(2), "4242");
}

TEST_F(PrometheusSinkTest, shouldFoldFunctionsBeyondTheLimit) {
  write({fn_event("a"), fn_event("b"), fn_event("c")});
  const auto families = collect();
  const auto& calls = family_named(families, "profilis_function_calls_total");
  ASSERT_EQ(calls.series.size(), 3u);
  const std::vector<std::string> other(4, "__other__");
  EXPECT_EQ(calls.series[2].label_values, other);
  const std::string text = render_text(registry_);
  EXPECT_NE(
      text.find("profilis_series_overflow_total{family=\"profilis_function_calls_total\"} 1\n"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          "profilis_series_overflow_total{family=\"profilis_function_duration_seconds\"} 1\n"),
      std::string::npos);
}

TEST(PrometheusSink, shouldShareFamiliesWithAnotherSinkOnTheSameRegistry) {
  Registry registry;
  PrometheusSink first(registry, {.instance = "i", .worker = "w"});
  PrometheusSink second(registry, {.instance = "i", .worker = "w"});
  const std::vector<Event> events = {fn_event()};
  first.write(events);
  second.write(events);
  EXPECT_EQ(family_named(registry.collect(), "profilis_function_calls_total").series.at(0).value,
            2);
}

}  // namespace
}  // namespace profilis
