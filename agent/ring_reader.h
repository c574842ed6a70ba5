// Drains the BPF ring buffer: records are decoded and handed to the collector.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "exporters/event.h"

struct ring_buffer;

namespace profilis {

class Collector;
class RecordDecoder;

class RingReader {
 public:
  RingReader(int ring_map_fd, const RecordDecoder& decoder, Collector& collector);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Readable (EPOLLIN) when records are waiting; add it to an outer epoll set.
  int epoll_fd() const;
  // Consumes every record available now. Throws RuntimeError when the ring buffer fails.
  void drain();

  std::uint64_t records() const { return records_; }
  // Records that could not be decoded: counted, never silently lost.
  // Read from the metrics thread too.
  std::uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }

 private:
  static int on_record(void* self, void* data, std::size_t size);

  struct RingDeleter {
    void operator()(ring_buffer* ring) const;
  };
  const RecordDecoder& decoder_;
  Collector& collector_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  Event event_;  // refilled for every record; the collector hands back a recycled one
  std::uint64_t records_ = 0;
  std::atomic<std::uint64_t> malformed_{0};
};

}  // namespace profilis
