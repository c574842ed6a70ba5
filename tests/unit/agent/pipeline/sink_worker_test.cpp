// What the Collector tests cannot reach: the stuck decision at explicit times, and drops counted by
// a worker whose queue is full.
#include "agent/pipeline/sink_worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporters/common/event.h"
#include "exporters/common/sink.h"

namespace profilis {
namespace {

using namespace std::chrono_literals;

constexpr auto kPatience = 10s;
// Long, so that the real clock never decides anything here: the tests pass the times themselves.
constexpr auto kSinkTimeout = std::chrono::milliseconds(60s);

// What the sink saw and how many times the worker said there is room; shared with the test
// because the worker owns the sink.
struct Seen {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::uint64_t> sequence;
  int write_calls = 0;
  int rooms = 0;
  bool gate_closed = false;  // while closed, each write needs a permit
  int permits = 0;

  template <typename Predicate>
  bool wait_for(Predicate done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kPatience, done);
  }
  void update(const auto& change) {
    {
      std::lock_guard lock(mutex);
      change();
    }
    changed.notify_all();
  }
};

class GatedSink : public Sink {
 public:
  explicit GatedSink(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
  std::string_view name() const override { return "gated"; }
  void write(std::span<const Event> batch) override {
    std::unique_lock lock(seen_->mutex);
    ++seen_->write_calls;
    seen_->changed.notify_all();
    seen_->changed.wait(lock, [&] { return !seen_->gate_closed || seen_->permits > 0; });
    if (seen_->gate_closed) --seen_->permits;
    for (const Event& e : batch) seen_->sequence.push_back(e.ts_ns);
  }
  void finalize() override {}

 private:
  std::shared_ptr<Seen> seen_;
};

std::unique_ptr<SinkWorker> worker_for(const std::shared_ptr<Seen>& seen, std::size_t queue_size,
                                       std::size_t batch_max) {
  return std::make_unique<SinkWorker>(std::make_unique<GatedSink>(seen),
                                      CollectorOptions{.queue_size = queue_size,
                                                       .batch_max = batch_max,
                                                       .flush_interval = 3600s,
                                                       .sink_timeout = kSinkTimeout},
                                      [seen] { seen->update([&] { ++seen->rooms; }); });
}

Event event_with_seq(std::uint64_t seq) {
  Event e;
  e.ts_ns = seq;
  e.fn = "fn" + std::to_string(seq);
  return e;
}

TEST(SinkWorker, shouldDropAndCountAnEventPushedIntoAFullQueue) {
  auto seen = std::make_shared<Seen>();
  auto worker = worker_for(seen, 2, 8);
  for (std::uint64_t i = 0; i < 3; ++i) {
    Event e = event_with_seq(i);
    worker->push_or_drop(e, false);
    EXPECT_EQ(e.fn, "fn" + std::to_string(i)) << "a copy was asked for";
  }
  EXPECT_TRUE(worker->full());
  EXPECT_EQ(worker->depth(), 2u);
  EXPECT_EQ(worker->dropped(), 1u);
  worker->request_stop();
  EXPECT_TRUE(worker->join_while_progressing());  // never started: delivers on this thread
  EXPECT_EQ(seen->sequence, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(worker->delivered(), 2u);
  EXPECT_EQ(worker->dropped(), 1u);
  EXPECT_EQ(seen->rooms, 0) << "room signalled though nobody waited for it";
}

TEST(SinkWorker, shouldBeStuckOnceFullForSinkTimeoutSinceFirstFoundFull) {
  auto seen = std::make_shared<Seen>();
  auto worker = worker_for(seen, 1, 1);
  Event e = event_with_seq(0);
  worker->push_or_drop(e, true);
  ASSERT_TRUE(worker->full());
  const SinkWorker::Clock::time_point first_found_full{1h};
  EXPECT_FALSE(worker->passable(first_found_full));
  // A later look must not restart the wait.
  EXPECT_FALSE(worker->passable(first_found_full + kSinkTimeout / 2));
  EXPECT_FALSE(worker->passable(first_found_full + kSinkTimeout - 1ns));
  EXPECT_TRUE(worker->passable(first_found_full + kSinkTimeout));
  EXPECT_TRUE(worker->passable(first_found_full + 3 * kSinkTimeout));
  EXPECT_EQ(worker->dropped(), 0u);
}

TEST(SinkWorker, shouldWaitAfreshAndSignalRoomOnceTheSinkTakesEvents) {
  auto seen = std::make_shared<Seen>();
  seen->gate_closed = true;
  auto worker = worker_for(seen, 2, 1);
  worker->start();
  Event e = event_with_seq(0);
  worker->push_or_drop(e, true);
  ASSERT_TRUE(seen->wait_for([&] { return seen->write_calls == 1; }));  // event 0 in its write
  for (std::uint64_t i = 1; i < 3; ++i) {
    e = event_with_seq(i);
    worker->push_or_drop(e, true);
  }
  ASSERT_TRUE(worker->full());
  const SinkWorker::Clock::time_point t0{1h};
  EXPECT_FALSE(worker->passable(t0));
  EXPECT_TRUE(worker->passable(t0 + kSinkTimeout));

  seen->update([&] { ++seen->permits; });  // event 0 written, event 1 taken: room
  ASSERT_TRUE(seen->wait_for([&] { return seen->rooms == 1; }));
  e = event_with_seq(3);
  worker->push_or_drop(e, true);
  ASSERT_TRUE(worker->full());
  const auto t1 = t0 + kSinkTimeout;
  EXPECT_FALSE(worker->passable(t1)) << "the earlier wait was not forgotten";
  EXPECT_FALSE(worker->passable(t1 + kSinkTimeout - 1ms));
  EXPECT_TRUE(worker->passable(t1 + kSinkTimeout));

  seen->update([&] { seen->gate_closed = false; });
  worker->request_stop();
  EXPECT_TRUE(worker->join_while_progressing());
  EXPECT_EQ(seen->sequence, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(seen->rooms, 2);  // once per wait
  EXPECT_EQ(worker->delivered(), 4u);
  EXPECT_EQ(worker->dropped(), 0u);
}

}  // namespace
}  // namespace profilis
