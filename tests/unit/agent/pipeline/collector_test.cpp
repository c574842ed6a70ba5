#include "agent/pipeline/collector.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "exporters/common/event.h"
#include "exporters/common/sink.h"

namespace profilis {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Long enough that no test waits on it in vain, yet bounded so a broken collector fails the test
// instead of hanging the suite.
constexpr auto kPatience = 10s;

// What a RecordingSink saw; shared with the test because the collector owns the sink. A sink left
// blocked in write() keeps using it after the test ended, so it is held by shared_ptr on both
// sides.
struct Record {
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<Event>> batches;
  int write_calls = 0;  // counted on entry, also for writes still waiting at the gate
  int finalize_calls = 0;
  int begin_calls = 0;
  bool write_before_begin = false;
  int tick_calls = 0;
  bool write_after_finalize = false;
  // While closed, write() waits (the sink is stuck) unless a permit lets one write through.
  bool gate_closed = false;
  int permits = 0;

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
  // Every event carries the name its sequence number implies: recycled events were fully refilled.
  bool contents_match_sequence() const {
    std::lock_guard lock(mutex);
    for (const auto& batch : batches) {
      for (const Event& e : batch) {
        if (e.fn != "fn" + std::to_string(e.ts_ns)) return false;
      }
    }
    return true;
  }
  int finalized() const {
    std::lock_guard lock(mutex);
    return finalize_calls;
  }
  int begun() const {
    std::lock_guard lock(mutex);
    return begin_calls;
  }
  int writes() const {
    std::lock_guard lock(mutex);
    return write_calls;
  }
  void close_gate() {
    std::lock_guard lock(mutex);
    gate_closed = true;
  }
  void open_gate() {
    {
      std::lock_guard lock(mutex);
      gate_closed = false;
    }
    changed.notify_all();
  }
  void allow_writes(int n) {
    {
      std::lock_guard lock(mutex);
      permits += n;
    }
    changed.notify_all();
  }
  template <typename Predicate>
  bool wait_for(Predicate done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kPatience, done);
  }
  // Waits until at least `n` events arrived; false on timeout.
  bool wait_for_events(std::size_t n) {
    return wait_for([&] {
      std::size_t total = 0;
      for (const auto& batch : batches) total += batch.size();
      return total >= n;
    });
  }
  bool wait_for_write_calls(int n) {
    return wait_for([&] { return write_calls >= n; });
  }
  bool wait_for_ticks(int n) {
    return wait_for([&] { return tick_calls >= n; });
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
      std::unique_lock lock(record_->mutex);
      ++record_->write_calls;
      record_->changed.notify_all();
      record_->changed.wait(lock, [&] { return !record_->gate_closed || record_->permits > 0; });
      if (record_->gate_closed) --record_->permits;
      if (record_->finalize_calls > 0) record_->write_after_finalize = true;
      if (record_->begin_calls == 0) record_->write_before_begin = true;
      if (fail_ != Fail::kOnWrite) record_->batches.emplace_back(batch.begin(), batch.end());
    }
    record_->changed.notify_all();
    if (fail_ == Fail::kOnWrite) throw std::runtime_error("disk on fire");
  }

  void tick() override {
    {
      std::lock_guard lock(record_->mutex);
      ++record_->tick_calls;
    }
    record_->changed.notify_all();
  }

  void begin() override {
    std::lock_guard lock(record_->mutex);
    ++record_->begin_calls;
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

// Time as the collector reads it when a queue is full: it moves only when the test advances it,
// so "the sink has been stuck for sink_timeout" is decided by the test, not by the machine's load.
class ManualClock {
 public:
  std::function<Collector::Clock::time_point()> reader() const {
    return [now = now_] {
      return Collector::Clock::time_point(Collector::Clock::duration(now->load()));
    };
  }
  void advance(Collector::Clock::duration by) { now_->fetch_add(by.count()); }

 private:
  std::shared_ptr<std::atomic<Collector::Clock::rep>> now_ =
      std::make_shared<std::atomic<Collector::Clock::rep>>(0);
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

std::vector<std::uint64_t> concat(std::vector<std::uint64_t> a,
                                  const std::vector<std::uint64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::unique_ptr<Sink>> sinks_of(std::unique_ptr<Sink> a,
                                            std::unique_ptr<Sink> b = nullptr,
                                            std::unique_ptr<Sink> c = nullptr) {
  std::vector<std::unique_ptr<Sink>> sinks;
  for (auto* sink : {&a, &b, &c}) {
    if (*sink) sinks.push_back(std::move(*sink));
  }
  return sinks;
}

// For tests about delivery, not about stuck sinks: however loaded the machine, a sink that keeps
// up is never left behind nor given up on at stop.
CollectorOptions patient(std::size_t queue_size, std::size_t batch_max,
                         std::chrono::milliseconds flush_interval) {
  return CollectorOptions{.queue_size = queue_size,
                          .batch_max = batch_max,
                          .flush_interval = flush_interval,
                          .sink_timeout = 3600s};
}

bool room_fd_readable(const Collector& collector, std::chrono::milliseconds timeout) {
  pollfd p{.fd = collector.room_fd(), .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

void clear_room_fd(const Collector& collector) {
  std::uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(collector.room_fd(), &count, sizeof count);
}

// Offers as the agent's reader does: when refused, again once room_fd() is readable, or a little
// later (the contract allows a refusal to be followed by no signal). False when refused throughout
// kPatience.
bool offer_patiently(Collector& collector, Event& event) {
  const auto give_up = SteadyClock::now() + kPatience;
  while (!collector.offer(event)) {
    if (SteadyClock::now() >= give_up) return false;
    if (room_fd_readable(collector, 20ms)) clear_room_fd(collector);
  }
  return true;
}

// Offers events [from, to), reusing one Event the way the ring reader reuses its own. False when
// one was refused throughout kPatience.
bool offer_range(Collector& collector, std::uint64_t from, std::uint64_t to) {
  Event event;
  for (std::uint64_t i = from; i < to; ++i) {
    event.kind = EventKind::kFn;
    event.ts_ns = i;
    event.fn.assign("fn" + std::to_string(i));
    if (!offer_patiently(collector, event)) return false;
  }
  return true;
}

TEST(Collector, shouldDeliverEveryOfferedEventOnceInOrder) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(100000, 7, 5ms), sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 5000));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 5000));
  EXPECT_TRUE(record->contents_match_sequence());
  EXPECT_EQ(collector.accepted(), 5000u);
  EXPECT_EQ(collector.delivered(0), 5000u);
  EXPECT_EQ(collector.dropped(0), 0u);
  EXPECT_EQ(collector.depth(), 0u);
}

// The last sink is handed the event's contents, the others copies: all of them must arrive whole.
TEST(Collector, shouldDeliverEventContentsIntactToEverySink) {
  auto a = std::make_shared<Record>();
  auto b = std::make_shared<Record>();
  Collector collector(CollectorOptions{}, sinks_of(std::make_unique<RecordingSink>(a),
                                                   std::make_unique<RecordingSink>(b)));
  Event e;
  e.kind = EventKind::kDb;
  e.ts_ns = 42;
  e.query = "SELECT 1";
  e.db_vendor = "sqlite";
  e.rows = 3;
  e.comm = "app";
  ASSERT_TRUE(collector.offer(e));
  collector.start();
  collector.stop();
  for (const auto& record : {a, b}) {
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
}

// A small queue makes offers refused often: the retries must neither lose nor repeat an event for
// any sink.
TEST(Collector, shouldDeliverTheSameSequenceToEverySink) {
  auto a = std::make_shared<Record>();
  auto b = std::make_shared<Record>();
  auto c = std::make_shared<Record>();
  Collector collector(patient(32, 8, 5ms), sinks_of(std::make_unique<RecordingSink>(a),
                                                    std::make_unique<RecordingSink>(b),
                                                    std::make_unique<RecordingSink>(c)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 3000));
  collector.stop();
  const std::vector records{a, b, c};
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& record = records[i];
    EXPECT_EQ(record->sequence(), iota(0, 3000)) << "sink " << i;
    EXPECT_TRUE(record->contents_match_sequence()) << "sink " << i;
    EXPECT_EQ(collector.delivered(i), 3000u) << "sink " << i;
    EXPECT_EQ(collector.dropped(i), 0u) << "sink " << i;
  }
}

TEST(Collector, shouldNeverDeliverABatchLargerThanBatchMax) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(10000, 5, 5ms), sinks_of(std::make_unique<RecordingSink>(record)));
  // A backlog before start forces full batches; offers while running give partial ones.
  ASSERT_TRUE(offer_range(collector, 0, 103));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 103, 400));
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
  Collector collector(patient(100, 0, 5ms), sinks_of(std::make_unique<RecordingSink>(record)));
  ASSERT_TRUE(offer_range(collector, 0, 10));
  collector.start();
  collector.stop();
  for (std::size_t size : record->batch_sizes()) EXPECT_EQ(size, 1u);
  EXPECT_EQ(record->sequence(), iota(0, 10));
}

TEST(Collector, shouldDrainEverythingQueuedOnStopBeforeFinalizing) {
  auto record = std::make_shared<Record>();
  // Neither a full batch nor the flush interval can trigger delivery: only stop() does.
  Collector collector(patient(10000, 1000, 3600s),
                      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 50));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 50));
  EXPECT_EQ(record->finalized(), 1);
  std::lock_guard lock(record->mutex);
  EXPECT_FALSE(record->write_after_finalize);
}

TEST(Collector, shouldDrainABacklogLargerThanOneBatchOnStop) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(10000, 10, 3600s), sinks_of(std::make_unique<RecordingSink>(record)));
  ASSERT_TRUE(offer_range(collector, 0, 95));
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
    ASSERT_TRUE(offer_range(collector, 1, 2));
    collector.stop();
    EXPECT_EQ(a->finalized(), 1);
    EXPECT_EQ(b->finalized(), 1);
    EXPECT_EQ(a->begun(), 1);
    EXPECT_FALSE(a->write_before_begin);
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
    Collector collector(patient(100, 100, 3600s),
                        sinks_of(std::make_unique<RecordingSink>(record)));
    collector.start();
    ASSERT_TRUE(offer_range(collector, 0, 3));
  }
  EXPECT_EQ(record->sequence(), iota(0, 3));
  EXPECT_EQ(record->finalized(), 1);
}

// The agent can fail between building the collector and starting it; queued events and the sinks'
// finalization must not be lost to that.
TEST(Collector, shouldDeliverAndFinalizeOnStopWhenNeverStarted) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(100, 2, 3600s), sinks_of(std::make_unique<RecordingSink>(record)));
  ASSERT_TRUE(offer_range(collector, 0, 5));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 5));
  EXPECT_EQ(record->finalized(), 1);
  EXPECT_EQ(record->begun(), 0) << "the agent never began tracing";
  EXPECT_EQ(collector.delivered(0), 5u);
}

TEST(Collector, shouldFinalizeWithoutWritesWhenNothingWasOffered) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(10, 10, 5ms), sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  // Ticks mark flush intervals that passed with an empty queue.
  EXPECT_TRUE(record->wait_for_ticks(3));
  collector.stop();
  EXPECT_EQ(record->writes(), 0) << "an empty batch was written";
  EXPECT_EQ(record->finalized(), 1);
}

TEST(Collector, shouldCountAThrowingSinksBatchesAsItsDropsAndKeepDeliveringToTheOthers) {
  auto failing = std::make_shared<Record>();
  auto good = std::make_shared<Record>();
  Collector collector(patient(10000, 3, 5ms), sinks_of(std::make_unique<RecordingSink>(
                                                           failing, RecordingSink::Fail::kOnWrite),
                                                       std::make_unique<RecordingSink>(good)));
  ASSERT_TRUE(offer_range(collector, 0, 30));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 30, 100));
  collector.stop();
  EXPECT_EQ(good->sequence(), iota(0, 100));
  EXPECT_EQ(collector.sink_errors(0), static_cast<std::uint64_t>(failing->writes()));
  EXPECT_GE(failing->writes(), 34);  // at most 3 events a batch
  EXPECT_EQ(collector.sink_errors(1), 0u);
  EXPECT_EQ(failing->finalized(), 1);
  EXPECT_EQ(good->finalized(), 1);
  EXPECT_EQ(collector.accepted(), 100u);
  EXPECT_EQ(collector.delivered(0), 0u);
  EXPECT_EQ(collector.dropped(0), 100u);
  EXPECT_EQ(collector.delivered(1), 100u);
  EXPECT_EQ(collector.dropped(1), 0u);
}

TEST(Collector, shouldKeepDeliveringWhenTheLastSinkThrows) {
  auto good = std::make_shared<Record>();
  auto failing = std::make_shared<Record>();
  Collector collector(
      patient(10000, 4, 5ms),
      sinks_of(std::make_unique<RecordingSink>(good),
               std::make_unique<RecordingSink>(failing, RecordingSink::Fail::kOnWrite)));
  ASSERT_TRUE(offer_range(collector, 0, 40));
  collector.start();
  collector.stop();
  EXPECT_EQ(good->sequence(), iota(0, 40));
  EXPECT_EQ(collector.sink_errors(0), 0u);
  EXPECT_EQ(collector.sink_errors(1), 10u);  // 40 events queued before start: full batches of 4
  EXPECT_EQ(collector.dropped(1), 40u);
  EXPECT_EQ(collector.delivered(0), 40u);
}

TEST(Collector, shouldCountAFailedFinalizeAndStillFinalizeTheOthers) {
  auto failing = std::make_shared<Record>();
  auto good = std::make_shared<Record>();
  Collector collector(CollectorOptions{}, sinks_of(std::make_unique<RecordingSink>(
                                                       failing, RecordingSink::Fail::kOnFinalize),
                                                   std::make_unique<RecordingSink>(good)));
  ASSERT_TRUE(offer_range(collector, 7, 8));
  collector.start();
  collector.stop();
  EXPECT_EQ(failing->sequence(), std::vector<std::uint64_t>{7});
  EXPECT_EQ(collector.sink_errors(0), 1u);
  EXPECT_EQ(collector.sink_errors(1), 0u);
  EXPECT_EQ(failing->finalized(), 1);
  EXPECT_EQ(good->finalized(), 1);
}

TEST(Collector, shouldDeliverASingleEventAfterTheFlushIntervalWithoutStop) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(10000, 10000, 50ms),
                      sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 99, 100));
  // Generous timeout: this checks that the timer delivers at all, not how fast.
  EXPECT_TRUE(record->wait_for_events(1)) << "event not delivered before stop()";
  EXPECT_EQ(record->finalized(), 0);
  EXPECT_EQ(collector.depth(), 0u);
  // A second event later is also flushed by the timer.
  ASSERT_TRUE(offer_range(collector, 100, 101));
  EXPECT_TRUE(record->wait_for_events(2)) << "second event not delivered before stop()";
  collector.stop();
  EXPECT_EQ(record->sequence(), (std::vector<std::uint64_t>{99, 100}));
}

// Timed work (rotation by age) must run even when no event arrives.
TEST(Collector, shouldTickSinksEveryFlushIntervalWithoutEvents) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(10, 10, 20ms), sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  EXPECT_TRUE(record->wait_for_ticks(3)) << "fewer than 3 ticks within 10 s at a 20 ms interval";
  collector.stop();
}

TEST(Collector, shouldDeliverAFullBatchWithoutWaitingForTheFlushInterval) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(10000, 4, 3600s), sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 4));
  EXPECT_TRUE(record->wait_for_events(4)) << "a full batch waited for the flush interval";
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 4));
}

// A queue smaller than batch_max is full before a batch is: the sink must take it then, or the
// reader, refused, waits for a whole flush interval (500 ms by default) per queueful.
TEST(Collector, shouldDeliverAFullQueueSmallerThanBatchMaxWithoutWaitingForTheFlushInterval) {
  auto record = std::make_shared<Record>();
  Collector collector(patient(4, 100, 3600s), sinks_of(std::make_unique<RecordingSink>(record)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 4));
  EXPECT_TRUE(record->wait_for_events(4)) << "a full queue waited for the flush interval";
  // The first queueful may be found full before the sink thread's first wait; after a delivery
  // the thread soon waits again, and the second queueful must wake it. (The pause only makes that
  // case likely; a correct collector passes either way.)
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(offer_range(collector, 4, 8));
  EXPECT_TRUE(record->wait_for_events(8)) << "a full queue waited for the flush interval";
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 8));
}

// One producer (the ring reader's thread) offering while the sink threads consume, through a small
// queue so that refusals and wake-ups happen all along.
TEST(Collector, shouldKeepOrderWhileSinksConsumeConcurrently) {
  auto a = std::make_shared<Record>();
  auto b = std::make_shared<Record>();
  Collector collector(patient(64, 16, 5ms), sinks_of(std::make_unique<RecordingSink>(a),
                                                     std::make_unique<RecordingSink>(b)));
  collector.start();
  constexpr std::uint64_t kEvents = 20000;
  bool all_offered = false;
  std::thread producer([&] { all_offered = offer_range(collector, 0, kEvents); });
  producer.join();
  ASSERT_TRUE(all_offered);
  collector.stop();
  for (const auto& record : {a, b}) {
    EXPECT_EQ(record->sequence(), iota(0, kEvents));
    EXPECT_TRUE(record->contents_match_sequence());
  }
  EXPECT_EQ(collector.delivered(0), kEvents);
  EXPECT_EQ(collector.delivered(1), kEvents);
  EXPECT_EQ(collector.dropped(0) + collector.dropped(1), 0u);
}

// Backpressure: a sink that is not (yet) left behind makes the reader keep its events rather
// than lose them.
TEST(Collector, shouldRefuseOffersWhileASinkQueueIsFullAndDropNothing) {
  ManualClock clock;  // never advanced: the blocked sink is never stuck for long enough
  auto record = std::make_shared<Record>();
  record->close_gate();
  Collector collector(patient(8, 4, 3600s), sinks_of(std::make_unique<RecordingSink>(record)),
                      clock.reader());
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 4));  // a full batch: the sink takes it and blocks
  ASSERT_TRUE(record->wait_for_write_calls(1));
  clear_room_fd(collector);
  for (std::uint64_t i = 4; i < 12; ++i) {
    Event e = event_with_seq(i);
    ASSERT_TRUE(collector.offer(e)) << "the queue had room for event " << i;
  }

  Event refused = event_with_seq(12);
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_FALSE(collector.offer(refused));
  }
  EXPECT_EQ(refused.ts_ns, 12u) << "a refused offer took the event";
  EXPECT_EQ(refused.fn, "fn12");
  EXPECT_EQ(collector.accepted(), 12u);
  EXPECT_EQ(collector.dropped(0), 0u);
  EXPECT_EQ(collector.delivered(0), 0u);
  EXPECT_EQ(collector.depth(), 8u);
  EXPECT_FALSE(room_fd_readable(collector, 0ms)) << "room signalled while the sink is blocked";

  record->open_gate();
  ASSERT_TRUE(room_fd_readable(collector, kPatience)) << "no room signal once the sink took events";
  clear_room_fd(collector);
  EXPECT_TRUE(collector.offer(refused));
  ASSERT_TRUE(offer_range(collector, 13, 200));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 200));
  EXPECT_EQ(collector.accepted(), 200u);
  EXPECT_EQ(collector.delivered(0), 200u);
  EXPECT_EQ(collector.dropped(0), 0u);
}

TEST(Collector, shouldRefuseEventsUntilAFullSinkQueueStayedFullForSinkTimeout) {
  ManualClock clock;
  auto blocked = std::make_shared<Record>();
  auto healthy = std::make_shared<Record>();
  blocked->close_gate();
  Collector collector(
      CollectorOptions{
          .queue_size = 32, .batch_max = 4, .flush_interval = 5ms, .sink_timeout = 1000ms},
      sinks_of(std::make_unique<RecordingSink>(blocked), std::make_unique<RecordingSink>(healthy)),
      clock.reader());
  collector.start();
  // Event 0 alone in flight (taken at the flush interval), then the blocked sink's queue filled.
  ASSERT_TRUE(offer_range(collector, 0, 1));
  ASSERT_TRUE(blocked->wait_for_write_calls(1));
  ASSERT_TRUE(offer_range(collector, 1, 33));
  // The healthy sink's queue is emptied, so that only the blocked one is full from here on.
  ASSERT_TRUE(healthy->wait_for_events(33));

  Event e = event_with_seq(33);
  EXPECT_FALSE(collector.offer(e));
  clock.advance(999ms);
  EXPECT_FALSE(collector.offer(e)) << "left behind before sink_timeout";
  EXPECT_EQ(collector.dropped(0), 0u);
  EXPECT_EQ(collector.accepted(), 33u);
  clock.advance(1ms);
  EXPECT_TRUE(collector.offer(e)) << "still refused after sink_timeout";
  ASSERT_TRUE(offer_range(collector, 34, 100));
  EXPECT_EQ(collector.dropped(0), 67u);  // events 33..99
  EXPECT_EQ(collector.dropped(1), 0u);

  // Once it takes events again, the sink is no longer left behind.
  blocked->open_gate();
  ASSERT_TRUE(blocked->wait_for_events(33));
  ASSERT_TRUE(offer_range(collector, 100, 150));
  collector.stop();

  EXPECT_EQ(healthy->sequence(), iota(0, 150));
  EXPECT_EQ(blocked->sequence(), concat(iota(0, 33), iota(100, 150)));
  EXPECT_EQ(collector.accepted(), 150u);
  EXPECT_EQ(collector.delivered(0), 83u);
  EXPECT_EQ(collector.dropped(0), 67u);
  EXPECT_EQ(collector.delivered(1), 150u);
  EXPECT_EQ(collector.dropped(1), 0u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(collector.delivered(i) + collector.dropped(i), collector.accepted()) << "sink " << i;
    EXPECT_EQ(collector.sink_errors(i), 0u);
  }
}

// One sink, blocked in the write of event 0 with events 1..8 filling its queue of 8.
struct LoneBlockedSink {
  ManualClock clock;
  std::shared_ptr<Record> blocked = std::make_shared<Record>();
  std::unique_ptr<Collector> collector;

  LoneBlockedSink() {
    blocked->close_gate();
    collector = std::make_unique<Collector>(
        CollectorOptions{
            .queue_size = 8, .batch_max = 4, .flush_interval = 5ms, .sink_timeout = 1000ms},
        sinks_of(std::make_unique<RecordingSink>(blocked)), clock.reader());
    collector->start();
  }
  ::testing::AssertionResult fill() {
    if (!offer_range(*collector, 0, 1) || !blocked->wait_for_write_calls(1) ||
        !offer_range(*collector, 1, 9)) {
      return ::testing::AssertionFailure() << "could not fill the queue";
    }
    return ::testing::AssertionSuccess();
  }
};

// With no other sink to keep going, leaving one behind would only lose events: the reader waits,
// and the ring buffer bounds the wait.
TEST(Collector, shouldNeverLeaveBehindALoneSink) {
  LoneBlockedSink lone;
  ASSERT_TRUE(lone.fill());
  Collector& collector = *lone.collector;
  auto& blocked = lone.blocked;
  Event e = event_with_seq(9);
  EXPECT_FALSE(collector.offer(e));
  lone.clock.advance(1h);
  EXPECT_FALSE(collector.offer(e)) << "a lone sink was left behind";
  EXPECT_EQ(collector.dropped(0), 0u);
  blocked->open_gate();
  ASSERT_TRUE(blocked->wait_for_events(9));
  EXPECT_TRUE(collector.offer(e));
  collector.stop();
  EXPECT_EQ(blocked->sequence(), iota(0, 10));
  EXPECT_EQ(collector.dropped(0), 0u);
}

// At the stop, though, a lone sink that is stuck is left behind like any other, so that every
// record still in the ring buffer is taken and counted.
TEST(Collector, shouldLeaveBehindALoneStuckSinkOnceStopping) {
  LoneBlockedSink lone;
  ASSERT_TRUE(lone.fill());
  Collector& collector = *lone.collector;
  auto& blocked = lone.blocked;
  Event e = event_with_seq(9);
  EXPECT_FALSE(collector.offer(e));
  lone.clock.advance(2s);
  EXPECT_FALSE(collector.offer(e));
  collector.leave_stuck_sinks_behind();
  EXPECT_TRUE(collector.offer(e));
  EXPECT_EQ(collector.dropped(0), 1u);
  blocked->open_gate();
  collector.stop();
  EXPECT_EQ(blocked->sequence(), iota(0, 9));
  EXPECT_EQ(collector.delivered(0) + collector.dropped(0), collector.accepted());
}

// The blocked sink's thread stays in write() for the rest of the process: its Record is shared
// with the sink, which the collector keeps alive, so nothing it touches is ever freed.
TEST(Collector, shouldGiveUpOnASinkBlockedForeverAtStopAndCountItsEventsAsDropped) {
  auto blocked = std::make_shared<Record>();
  auto healthy = std::make_shared<Record>();
  blocked->close_gate();
  Collector collector(
      CollectorOptions{
          .queue_size = 1000, .batch_max = 8, .flush_interval = 5ms, .sink_timeout = 100ms},
      sinks_of(std::make_unique<RecordingSink>(blocked), std::make_unique<RecordingSink>(healthy)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 50));
  ASSERT_TRUE(blocked->wait_for_write_calls(1));

  const auto started = SteadyClock::now();
  collector.stop();
  EXPECT_LT(SteadyClock::now() - started, 2s);

  EXPECT_EQ(healthy->sequence(), iota(0, 50));
  EXPECT_EQ(healthy->finalized(), 1);
  EXPECT_EQ(collector.delivered(1), 50u);
  EXPECT_EQ(collector.dropped(1), 0u);
  EXPECT_EQ(blocked->finalized(), 0);
  EXPECT_EQ(collector.delivered(0), 0u);
  EXPECT_EQ(collector.dropped(0), 50u);  // the batch in its write and the rest of its queue
  EXPECT_EQ(collector.accepted(), 50u);
}

// The stop waits for a sink as long as it makes progress during the stop; an idle sink (or one
// busy in a tick) has made none lately, and must not be given up on for that.
TEST(Collector, shouldNotGiveUpAtStopOnAnIdleSinkThatEndsWithinSinkTimeout) {
  auto record = std::make_shared<Record>();
  // The sink is busy in a tick (a slow rotation) when stop is called, and ends 100 ms into it.
  class SlowTickSink : public RecordingSink {
   public:
    SlowTickSink(std::shared_ptr<Record> record, std::shared_ptr<std::atomic<bool>> slow)
        : RecordingSink(std::move(record)), slow_(std::move(slow)) {}
    void tick() override {
      RecordingSink::tick();
      while (slow_->load()) std::this_thread::sleep_for(1ms);
    }

   private:
    std::shared_ptr<std::atomic<bool>> slow_;
  };
  auto slow = std::make_shared<std::atomic<bool>>(true);
  Collector collector(
      CollectorOptions{
          .queue_size = 100, .batch_max = 100, .flush_interval = 5ms, .sink_timeout = 500ms},
      sinks_of(std::make_unique<SlowTickSink>(record, slow)));
  collector.start();
  ASSERT_TRUE(record->wait_for_ticks(1));
  ASSERT_TRUE(offer_range(collector, 0, 10));
  // Idle for longer than sink_timeout before the stop: time must pass, there is no event for it.
  std::this_thread::sleep_for(700ms);
  std::thread finish_tick([slow] {
    std::this_thread::sleep_for(100ms);
    slow->store(false);
  });
  collector.stop();
  finish_tick.join();
  EXPECT_EQ(record->finalized(), 1) << "given up on, though it ended 100 ms into the stop";
  EXPECT_EQ(record->sequence(), iota(0, 10));
  EXPECT_EQ(collector.delivered(0), 10u);
  EXPECT_EQ(collector.dropped(0), 0u);
}

// A sink that writes slowly but steadily refills its queue all the time: it holds the reader back
// but is never left behind.
TEST(Collector, shouldNeverLeaveBehindASlowSinkThatKeepsTakingEvents) {
  auto record = std::make_shared<Record>();
  class SlowSink : public RecordingSink {
   public:
    using RecordingSink::RecordingSink;
    void write(std::span<const Event> batch) override {
      std::this_thread::sleep_for(3ms);  // the slowness under test, not a synchronization
      RecordingSink::write(batch);
    }
  };
  Collector collector(
      CollectorOptions{
          .queue_size = 16, .batch_max = 4, .flush_interval = 5ms, .sink_timeout = 1000ms},
      sinks_of(std::make_unique<SlowSink>(record)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 400));
  collector.stop();
  EXPECT_EQ(record->sequence(), iota(0, 400));
  EXPECT_EQ(collector.delivered(0), 400u);
  EXPECT_EQ(collector.dropped(0), 0u);
}

// Events a sink was handed but could not keep itself (a failed file write) are its drops.
TEST(Collector, shouldCountASinksOwnDroppedEventsAsDroppedNotDelivered) {
  class LossySink : public Sink {
   public:
    std::string_view name() const override { return "lossy"; }
    void write(std::span<const Event> batch) override {
      for (const Event& e : batch) {
        if (e.ts_ns % 3 == 0) lost_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    void finalize() override {}
    std::uint64_t dropped_events() const override { return lost_.load(); }

   private:
    std::atomic<std::uint64_t> lost_{0};
  };
  auto good = std::make_shared<Record>();
  Collector collector(patient(1000, 8, 5ms), sinks_of(std::make_unique<LossySink>(),
                                                      std::make_unique<RecordingSink>(good)));
  collector.start();
  ASSERT_TRUE(offer_range(collector, 0, 99));
  collector.stop();
  EXPECT_EQ(collector.delivered(0), 66u);
  EXPECT_EQ(collector.dropped(0), 33u);  // every third event, 0..96
  EXPECT_EQ(collector.delivered(1), 99u);
  EXPECT_EQ(collector.dropped(1), 0u);
}

}  // namespace
}  // namespace profilis
