// Drains the BPF ring buffer: records are decoded and offered to the collector. When the collector
// refuses (its sinks are behind), the reader stops taking records: they wait in the ring buffer,
// and at most one decoded event waits here, offered again first on the next drain.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "exporters/common/event.h"

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
  // Consumes the records available now. True when it took them all; false when the collector
  // refused one (drain again once it has room). Throws RuntimeError when the ring buffer fails.
  bool drain();

  // Records taken out of the ring buffer (decoded or not). Read from the metrics thread too.
  std::uint64_t records() const { return records_.load(std::memory_order_relaxed); }
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
  Event event_;           // refilled for every record; the collector hands back a recycled one
  bool pending_ = false;  // event_ holds a refused event
  std::atomic<std::uint64_t> records_{0};
  std::atomic<std::uint64_t> malformed_{0};
};

}  // namespace profilis
