#include "agent/pipeline/ring_reader.h"

#include <bpf/libbpf.h>

#include <cerrno>

#include "agent/common/errors.h"
#include "agent/pipeline/collector.h"
#include "agent/pipeline/record_decoder.h"

namespace profilis {

void RingReader::RingDeleter::operator()(ring_buffer* ring) const { ring_buffer__free(ring); }

RingReader::RingReader(int ring_map_fd, const RecordDecoder& decoder, Collector& collector)
    : decoder_(decoder), collector_(collector) {
  ring_.reset(ring_buffer__new(ring_map_fd, &RingReader::on_record, this, nullptr));
  if (!ring_) throw RuntimeError(errno_message("cannot open the BPF ring buffer", errno));
}

RingReader::~RingReader() = default;

int RingReader::epoll_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

namespace {
// What on_record returns to stop libbpf's loop; libbpf has then consumed that record, which is why
// the reader keeps the refused event.
constexpr int kRefused = -EAGAIN;
}  // namespace

bool RingReader::drain() {
  if (pending_) {
    if (!collector_.offer(event_)) return false;
    pending_ = false;
  }
  int n = ring_buffer__consume(ring_.get());
  if (n == kRefused && pending_) return false;
  if (n < 0 && n != -EINTR) throw RuntimeError(errno_message("reading the ring buffer failed", -n));
  return true;
}

int RingReader::on_record(void* self, void* data, std::size_t size) {
  auto* reader = static_cast<RingReader*>(self);
  // One writer: a plain add, no locked instruction per record.
  reader->records_.store(reader->records_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  if (!reader->decoder_.decode(data, size, reader->event_)) {
    reader->malformed_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (reader->collector_.offer(reader->event_)) return 0;
  reader->pending_ = true;
  return kRefused;
}

}  // namespace profilis
