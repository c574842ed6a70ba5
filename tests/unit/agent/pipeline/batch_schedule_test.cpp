#include "agent/pipeline/batch_schedule.h"

#include <gtest/gtest.h>

namespace profilis {
namespace {

using namespace std::chrono_literals;
using Clock = BatchSchedule::Clock;

const Clock::time_point kStart{};

TEST(BatchSchedule, shouldWaitWhileAPartialBatchIsYoungerThanTheInterval) {
  BatchSchedule schedule(256, 500ms, kStart);
  EXPECT_EQ(schedule.due(10, kStart + 499ms, false), 0u);
  EXPECT_EQ(schedule.deadline(), kStart + 500ms);
}

TEST(BatchSchedule, shouldDeliverAPartialBatchOnceTheIntervalElapsed) {
  BatchSchedule schedule(256, 500ms, kStart);
  EXPECT_EQ(schedule.due(10, kStart + 500ms, false), 10u);
}

TEST(BatchSchedule, shouldDeliverAFullBatchAtOnce) {
  BatchSchedule schedule(256, 500ms, kStart);
  EXPECT_EQ(schedule.due(256, kStart + 1ms, false), 256u);
  EXPECT_EQ(schedule.due(1000, kStart + 1ms, false), 256u) << "never more than batch_max";
}

TEST(BatchSchedule, shouldDeliverNothingFromAnEmptyQueue) {
  BatchSchedule schedule(256, 500ms, kStart);
  EXPECT_EQ(schedule.due(0, kStart + 10s, false), 0u);
  EXPECT_EQ(schedule.due(0, kStart + 10s, true), 0u);
}

TEST(BatchSchedule, shouldDeliverEverythingInBatchesWhenStopping) {
  BatchSchedule schedule(100, 500ms, kStart);
  EXPECT_EQ(schedule.due(30, kStart, true), 30u);
  EXPECT_EQ(schedule.due(250, kStart, true), 100u);
}

TEST(BatchSchedule, shouldStartANewIntervalOnRestart) {
  BatchSchedule schedule(256, 500ms, kStart);
  ASSERT_TRUE(schedule.interval_elapsed(kStart + 600ms));
  schedule.restart(kStart + 600ms);
  EXPECT_FALSE(schedule.interval_elapsed(kStart + 1099ms));
  EXPECT_EQ(schedule.due(5, kStart + 1099ms, false), 0u);
  EXPECT_EQ(schedule.due(5, kStart + 1100ms, false), 5u);
  EXPECT_EQ(schedule.deadline(), kStart + 1100ms);
}

TEST(BatchSchedule, shouldTreatBatchMaxZeroAsOne) {
  BatchSchedule schedule(0, 500ms, kStart);
  EXPECT_EQ(schedule.batch_max(), 1u);
  EXPECT_EQ(schedule.due(5, kStart, false), 1u);
}

}  // namespace
}  // namespace profilis
