#include "agent/collector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "exporters/event.h"
#include "exporters/sink.h"

namespace profilis {
namespace {

using namespace std::chrono_literals;

// What a RecordingSink saw; shared with the test because the collector owns the sink.
struct Record {
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<Event>> batches;
  int write_calls = 0;
  int finalize_calls = 0;
  bool write_after_finalize = false;

  std::vector<std::uint64_t> sequence() const {
    std::lock_guard lock(mutex);
    std::vector<std::uint64_t> out;
    for (const auto& batch : batches) {
      for (const Event& e : batch) out.push_back(e.ts_ns);
    }
    return out;
  }
  std::vector<std::size_t> batch_sizes() const {
    std::lock_guard lock(mutex);
    std::vector<std::size_t> out;
    for (const auto& batch : batches) out.push_back(batch.size());
    return out;
  }
  int finalized() const {
    std::lock_guard lock(mutex);
    return finalize_calls;
  }
  int writes() const {
    std::lock_guard lock(mutex);
    return write_calls;
  }
  // Waits until at least `n` events arrived; false on timeout.
  bool wait_for_events(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] {
      std::size_t total = 0;
      for (const auto& batch : batches) total += batch.size();
      return total >= n;
    });
  }
};

class RecordingSink : public Sink {
 public:
  enum class Fail { kNever, kOnWrite, kOnFinalize };

  explicit RecordingSink(std::shared_ptr<Record> record, Fail fail = Fail::kNever)
      : record_(std::move(record)), fail_(fail) {}

  std::string_view name() const override { return "recording"; }

  void write(std::span<const Event> batch) override {
    {
      std::lock_guard lock(record_->mutex);
      ++record_->write_calls;
      if (record_->finalize_calls > 0) record_->write_after_finalize = true;
      if (fail_ != Fail::kOnWrite) record_->batches.emplace_back(batch.begin(), batch.end());
    }
    record_->changed.notify_all();
    if (fail_ == Fail::kOnWrite) throw std::runtime_error("disk on fire");
  }

  void finalize() override {
    {
      std::lock_guard lock(record_->mutex);
      ++record_->finalize_calls;
    }
    record_->changed.notify_all();
    if (fail_ == Fail::kOnFinalize) throw std::runtime_error("cannot finalize");
  }

 private:
  std::shared_ptr<Record> record_;
  Fail fail_;
};

Event event_with_seq(std::uint64_t seq) {
  Event e;
  e.kind = EventKind::kFn;
  e.ts_ns = seq;
  e.fn = "fn" + std::to_string(seq);
  return e;
}

std::vector<std::uint64_t> iota(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

std::vector<std::unique_ptr<Sink>> sinks_of(std::unique_ptr<Sink> a,
                                            std::unique_ptr<Sink> b = nullptr) {
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::move(a));
  if (b) sinks.push_back(std::move(b));
  return sinks;
}

TEST(Collector, shouldDeliverEveryPushedEventOnceInOrder) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 100000, .batch_max = 7, .flush_interval = 5ms},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  for (std::uint64_t i = 0; i < 5000; ++i) {
    collector.push(event_with_seq(i));
    if (i % 500 == 0) std::this_thread::yield();
  }
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 5000));
  EXPECT_EQ(collector.delivered(), 5000u);
  EXPECT_EQ(collector.dropped(), 0u);
  EXPECT_EQ(collector.depth(), 0u);
}

TEST(Collector, shouldDeliverEventContentsIntact) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{}, sinks_of(std::make_unique<RecordingSink>(record)));
  Event e;
  e.kind = EventKind::kDb;
  e.ts_ns = 42;
  e.query = "SELECT 1";
  e.db_vendor = "sqlite";
  e.rows = 3;
  e.comm = "app";
  collector.push(e);
  collector.start();
  collector.stop();
  std::lock_guard lock(record->mutex);
  ASSERT_EQ(record->batches.size(), 1u);
  ASSERT_EQ(record->batches[0].size(), 1u);
  const Event& got = record->batches[0][0];
  EXPECT_EQ(got.kind, EventKind::kDb);
  EXPECT_EQ(got.ts_ns, 42u);
  EXPECT_EQ(got.query, "SELECT 1");
  EXPECT_EQ(got.db_vendor, "sqlite");
  EXPECT_EQ(got.rows, 3);
  EXPECT_EQ(got.comm, "app");
}

TEST(Collector, shouldDeliverTheSameSequenceToEverySink) {
  auto a = std::make_shared<Record>();
  auto b = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 16, .flush_interval = 5ms},
      sinks_of(std::make_unique<RecordingSink>(a), std::make_unique<RecordingSink>(b)));
  collector.start();
  for (std::uint64_t i = 0; i < 1000; ++i) collector.push(event_with_seq(i));
  collector.stop();
  EXPECT_EQ(a->sequence(), iota(0, 1000));
  EXPECT_EQ(b->sequence(), iota(0, 1000));
}

TEST(Collector, shouldNeverDeliverABatchLargerThanBatchMax) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 10000, .batch_max = 5, .flush_interval = 5ms},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  // A backlog before start forces full batches; pushes while running give partial ones.
  for (std::uint64_t i = 0; i < 103; ++i) collector.push(event_with_seq(i));
  collector.start();
  for (std::uint64_t i = 103; i < 400; ++i) collector.push(event_with_seq(i));
  collector.stop();
  const auto sizes = record->batch_sizes();
  ASSERT_FALSE(sizes.empty());
  for (std::size_t size : sizes) {
    EXPECT_GE(size, 1u) << "an empty batch was delivered";
    EXPECT_LE(size, 5u);
  }
  EXPECT_EQ(record->sequence(), iota(0, 400));
}

TEST(Collector, shouldTreatBatchMaxZeroAsOne) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 100, .batch_max = 0, .flush_interval = 5ms},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  for (std::uint64_t i = 0; i < 10; ++i) collector.push(event_with_seq(i));
  collector.start();
  collector.stop();
  for (std::size_t size : record->batch_sizes()) EXPECT_EQ(size, 1u);
  EXPECT_EQ(record->sequence(), iota(0, 10));
}

TEST(Collector, shouldDropTheOldestEventWhenTheQueueIsFull) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 4, .batch_max = 2, .flush_interval = 5ms},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  for (std::uint64_t i = 0; i < 10; ++i) collector.push(event_with_seq(i));
  EXPECT_EQ(collector.dropped(), 6u);
  EXPECT_EQ(collector.depth(), 4u);
  collector.start();
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(6, 10));
  EXPECT_EQ(collector.delivered(), 4u);
  EXPECT_EQ(collector.dropped(), 6u);
}

TEST(Collector, shouldCountOneDropPerEventPushedIntoAFullQueue) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 1, .batch_max = 8, .flush_interval = 5ms},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.push(event_with_seq(0));
  EXPECT_EQ(collector.dropped(), 0u);
  collector.push(event_with_seq(1));
  EXPECT_EQ(collector.dropped(), 1u);
  collector.push(event_with_seq(2));
  EXPECT_EQ(collector.dropped(), 2u);
  EXPECT_EQ(collector.depth(), 1u);
  collector.start();
  collector.stop();
  EXPECT_EQ(record->sequence(), std::vector<std::uint64_t>{2});
}

TEST(Collector, shouldDrainEverythingQueuedOnStopBeforeFinalizing) {
  auto record = std::make_shared<Record>();
  // Neither a full batch nor the flush interval can trigger delivery: only stop() does.
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 1000, .flush_interval = 3600s},
      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  for (std::uint64_t i = 0; i < 50; ++i) collector.push(event_with_seq(i));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 50));
  EXPECT_EQ(record->finalized(), 1);
  std::lock_guard lock(record->mutex);
  EXPECT_FALSE(record->write_after_finalize);
}

TEST(Collector, shouldDrainABacklogLargerThanOneBatchOnStop) {
  auto record = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 10, .flush_interval = 3600s},
      sinks_of(std::make_unique<RecordingSink>(record)));
  for (std::uint64_t i = 0; i < 95; ++i) collector.push(event_with_seq(i));
  collector.start();
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 95));
  for (std::size_t size : record->batch_sizes()) EXPECT_LE(size, 10u);
  EXPECT_EQ(record->finalized(), 1);
  std::lock_guard lock(record->mutex);
  EXPECT_FALSE(record->write_after_finalize);
}

TEST(Collector, shouldFinalizeEachSinkExactlyOnce) {
  auto a = std::make_shared<Record>();
  auto b = std::make_shared<Record>();
  {
    Collector collector(CollectorOptions{}, sinks_of(std::make_unique<RecordingSink>(a),
                                                     std::make_unique<RecordingSink>(b)));
    collector.start();
    collector.push(event_with_seq(1));
    collector.stop();
    EXPECT_EQ(a->finalized(), 1);
    EXPECT_EQ(b->finalized(), 1);
    collector.stop();  // a second stop does nothing
    EXPECT_EQ(a->finalized(), 1);
    EXPECT_EQ(b->finalized(), 1);
  }  // nor does the destructor
  EXPECT_EQ(a->finalized(), 1);
  EXPECT_EQ(b->finalized(), 1);
}

TEST(Collector, shouldFinalizeOnceWhenDestroyedWithoutStop) {
  auto record = std::make_shared<Record>();
  {
    Collector collector(
        CollectorOptions{.queue_size = 100, .batch_max = 100, .flush_interval = 3600s},
        sinks_of(std::make_unique<RecordingSink>(record)));
    collector.start();
    for (std::uint64_t i = 0; i < 3; ++i) collector.push(event_with_seq(i));
  }
  EXPECT_EQ(record->sequence(), iota(0, 3));
  EXPECT_EQ(record->finalized(), 1);
}

// The agent can fail between building the collector and starting it; queued events and the sinks'
// finalization must not be lost to that.
TEST(Collector, shouldDeliverAndFinalizeOnStopWhenNeverStarted) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 100, .batch_max = 2, .flush_interval = 3600s},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  for (std::uint64_t i = 0; i < 5; ++i) collector.push(event_with_seq(i));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 5));
  EXPECT_EQ(record->finalized(), 1);
}

TEST(Collector, shouldFinalizeWithoutWritesWhenNothingWasPushed) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{.queue_size = 10, .batch_max = 10, .flush_interval = 5ms},
                      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  std::this_thread::sleep_for(30ms);  // several flush intervals pass with an empty queue
  collector.stop();
  EXPECT_EQ(record->writes(), 0) << "an empty batch was written";
  EXPECT_EQ(record->finalized(), 1);
}

TEST(Collector, shouldKeepDeliveringToOtherSinksWhenOneThrowsOnWrite) {
  auto failing = std::make_shared<Record>();
  auto good = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 3, .flush_interval = 5ms},
      sinks_of(std::make_unique<RecordingSink>(failing, RecordingSink::Fail::kOnWrite),
               std::make_unique<RecordingSink>(good)));
  for (std::uint64_t i = 0; i < 30; ++i) collector.push(event_with_seq(i));
  collector.start();
  for (std::uint64_t i = 30; i < 100; ++i) collector.push(event_with_seq(i));
  collector.stop();
  EXPECT_EQ(good->sequence(), iota(0, 100));
  const int batches = static_cast<int>(good->batch_sizes().size());
  EXPECT_EQ(failing->writes(), batches);
  EXPECT_EQ(collector.sink_errors(0), static_cast<std::uint64_t>(batches));
  EXPECT_EQ(collector.sink_errors(1), 0u);
  EXPECT_EQ(failing->finalized(), 1);
  EXPECT_EQ(good->finalized(), 1);
  EXPECT_EQ(collector.delivered(), 100u);
}

TEST(Collector, shouldKeepDeliveringWhenTheLastSinkThrows) {
  auto good = std::make_shared<Record>();
  auto failing = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 4, .flush_interval = 5ms},
      sinks_of(std::make_unique<RecordingSink>(good),
               std::make_unique<RecordingSink>(failing, RecordingSink::Fail::kOnWrite)));
  for (std::uint64_t i = 0; i < 40; ++i) collector.push(event_with_seq(i));
  collector.start();
  collector.stop();
  EXPECT_EQ(good->sequence(), iota(0, 40));
  EXPECT_EQ(collector.sink_errors(0), 0u);
  EXPECT_EQ(collector.sink_errors(1), static_cast<std::uint64_t>(good->batch_sizes().size()));
  EXPECT_EQ(collector.sink_errors(1), 10u);  // 40 events in full batches of 4
}

TEST(Collector, shouldCountAFailedFinalizeAndStillFinalizeTheOthers) {
  auto failing = std::make_shared<Record>();
  auto good = std::make_shared<Record>();
  Collector collector(CollectorOptions{}, sinks_of(std::make_unique<RecordingSink>(
                                                       failing, RecordingSink::Fail::kOnFinalize),
                                                   std::make_unique<RecordingSink>(good)));
  collector.push(event_with_seq(7));
  collector.start();
  collector.stop();
  EXPECT_EQ(failing->sequence(), std::vector<std::uint64_t>{7});
  EXPECT_EQ(collector.sink_errors(0), 1u);
  EXPECT_EQ(collector.sink_errors(1), 0u);
  EXPECT_EQ(failing->finalized(), 1);
  EXPECT_EQ(good->finalized(), 1);
}

TEST(Collector, shouldReportZeroErrorsForAnUnknownSinkIndex) {
  auto record = std::make_shared<Record>();
  Collector collector(CollectorOptions{}, sinks_of(std::make_unique<RecordingSink>(record)));
  EXPECT_EQ(collector.sink_errors(1), 0u);
  EXPECT_EQ(collector.sink_errors(1000), 0u);
}

TEST(Collector, shouldDeliverASingleEventAfterTheFlushIntervalWithoutStop) {
  auto record = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 10000, .flush_interval = 50ms},
      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  collector.push(event_with_seq(99));
  // Generous timeout: this checks that the timer delivers at all, not how fast.
  EXPECT_TRUE(record->wait_for_events(1, 10s)) << "event not delivered before stop()";
  EXPECT_EQ(record->finalized(), 0);
  EXPECT_EQ(collector.depth(), 0u);
  // A second event later is also flushed by the timer.
  collector.push(event_with_seq(100));
  EXPECT_TRUE(record->wait_for_events(2, 10s)) << "second event not delivered before stop()";
  collector.stop();
  EXPECT_EQ(record->sequence(), (std::vector<std::uint64_t>{99, 100}));
}

// Counts tick() calls: timed work (rotation by age) must run even when no event arrives.
class TickCountingSink : public Sink {
 public:
  explicit TickCountingSink(std::shared_ptr<std::atomic<int>> ticks) : ticks_(std::move(ticks)) {}
  std::string_view name() const override { return "ticks"; }
  void write(std::span<const Event>) override {}
  void tick() override { ++*ticks_; }
  void finalize() override {}

 private:
  std::shared_ptr<std::atomic<int>> ticks_;
};

TEST(Collector, shouldTickSinksEveryFlushIntervalWithoutEvents) {
  auto ticks = std::make_shared<std::atomic<int>>(0);
  Collector collector(CollectorOptions{.queue_size = 10, .batch_max = 10, .flush_interval = 20ms},
                      sinks_of(std::make_unique<TickCountingSink>(ticks)));
  collector.start();
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (ticks->load() < 3 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  collector.stop();
  EXPECT_GE(ticks->load(), 3) << "no tick within 10 s at a 20 ms flush interval";
}

TEST(Collector, shouldDeliverAFullBatchWithoutWaitingForTheFlushInterval) {
  auto record = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 10000, .batch_max = 4, .flush_interval = 3600s},
      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  for (std::uint64_t i = 0; i < 4; ++i) collector.push(event_with_seq(i));
  EXPECT_TRUE(record->wait_for_events(4, 10s)) << "a full batch waited for the flush interval";
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 4));
}

TEST(Collector, shouldKeepOrderAndCountsUnderConcurrentPushes) {
  auto record = std::make_shared<Record>();
  Collector collector(
      CollectorOptions{.queue_size = 100000, .batch_max = 64, .flush_interval = 5ms},
      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  constexpr std::uint64_t kPerThread = 2000;
  std::vector<std::thread> pushers;
  for (std::uint64_t t = 0; t < 4; ++t) {
    pushers.emplace_back([&collector, t] {
      for (std::uint64_t i = 0; i < kPerThread; ++i) {
        collector.push(event_with_seq(t * kPerThread + i));
      }
    });
  }
  for (auto& th : pushers) th.join();
  collector.stop();
  const auto seq = record->sequence();
  ASSERT_EQ(seq.size(), 4 * kPerThread);
  // Each producer's events stay in its own order.
  std::vector<std::uint64_t> last(4, 0);
  std::vector<bool> seen(4, false);
  for (std::uint64_t s : seq) {
    const std::uint64_t t = s / kPerThread;
    if (seen[t]) {
      EXPECT_GT(s, last[t]);
    }
    seen[t] = true;
    last[t] = s;
  }
  EXPECT_EQ(collector.delivered(), 4 * kPerThread);
}

}  // namespace
}  // namespace profilis
