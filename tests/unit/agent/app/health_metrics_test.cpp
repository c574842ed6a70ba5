#include "agent/app/health_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <string>

#include "tests/common/promtool.h"

namespace profilis {
namespace {

HealthReading reading() {
  HealthReading r;
  r.produced = 1000;
  r.kernel_dropped = 7;
  r.decoder_dropped = 1;
  r.sinks = {{"jsonl", 990, 2, 1}, {"prometheus", 992, 0, 0}};
  r.queue_depth = 12;
  r.unreadable = {1, 2, 3, 4, 5};
  r.process_notices_lost = 3;
  r.calls_too_deep = 4;
  r.calls_without_stack = 5;
  r.returns_unmatched = 6;
  r.calls_abandoned = 8;
  return r;
}

std::string text(const HealthReading& r) {
  return prometheus::TextSerializer().Serialize(health_families(r));
}

void expect_line(const std::string& exposition, const std::string& line) {
  EXPECT_NE(exposition.find(line + "\n"), std::string::npos) << line << "\n" << exposition;
}

TEST(HealthMetrics, shouldShowEveryCounterWithItsLabels) {
  const std::string t = text(reading());
  expect_line(t, "profilis_events_produced_total 1000");
  expect_line(t, "profilis_events_delivered_total{sink=\"jsonl\"} 990");
  expect_line(t, "profilis_events_delivered_total{sink=\"prometheus\"} 992");
  expect_line(t, "profilis_events_dropped_total{stage=\"kernel\"} 7");
  expect_line(t, "profilis_events_dropped_total{stage=\"decoder\"} 1");
  expect_line(t, "profilis_events_dropped_total{stage=\"jsonl\"} 2");
  expect_line(t, "profilis_events_dropped_total{stage=\"prometheus\"} 0");
  expect_line(t, "profilis_export_errors_total{sink=\"jsonl\"} 1");
  expect_line(t, "profilis_queue_depth 12");
  expect_line(t, "# TYPE profilis_queue_depth gauge");
  expect_line(t, "# TYPE profilis_events_dropped_total counter");
  for (const char* field : {"route", "method", "fn", "query", "db_vendor"}) {
    EXPECT_NE(t.find("profilis_unreadable_fields_total{field=\"" + std::string(field) + "\"}"),
              std::string::npos)
        << field;
  }
  expect_line(t, "profilis_unreadable_fields_total{field=\"db_vendor\"} 5");
  expect_line(t, "profilis_process_notices_lost_total 3");
  expect_line(t, "profilis_calls_unmeasured_total{reason=\"too_deep\"} 4");
  expect_line(t, "profilis_calls_unmeasured_total{reason=\"no_stack\"} 5");
  expect_line(t, "profilis_calls_unmeasured_total{reason=\"unmatched\"} 6");
  expect_line(t, "profilis_calls_unmeasured_total{reason=\"abandoned\"} 8");
}

TEST(HealthMetrics, shouldLeaveOutFamiliesWithoutSeries) {
  HealthReading r = reading();
  r.sinks.clear();
  const std::string t = text(r);
  EXPECT_EQ(t.find("profilis_events_delivered_total"), std::string::npos) << t;
  EXPECT_EQ(t.find("profilis_export_errors_total"), std::string::npos) << t;
  expect_line(t, "profilis_events_dropped_total{stage=\"kernel\"} 7");
}

TEST(HealthMetrics, shouldPassPromtoolCheckMetrics) {
  const std::string t = text(reading());
  const auto result = testutil::promtool_check(t);
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << t;
  EXPECT_EQ(result.output, "") << t;
}

}  // namespace
}  // namespace profilis
