#include "agent/ring_reader.h"

#include <bpf/libbpf.h>

#include <cerrno>

#include "agent/collector.h"
#include "agent/errors.h"
#include "agent/record_decoder.h"

namespace profilis {

void RingReader::RingDeleter::operator()(ring_buffer* ring) const { ring_buffer__free(ring); }

RingReader::RingReader(int ring_map_fd, const RecordDecoder& decoder, Collector& collector)
    : decoder_(decoder), collector_(collector) {
  ring_.reset(ring_buffer__new(ring_map_fd, &RingReader::on_record, this, nullptr));
  if (!ring_) throw RuntimeError(errno_message("cannot open the BPF ring buffer", errno));
}

RingReader::~RingReader() = default;

int RingReader::epoll_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

void RingReader::drain() {
  int n = ring_buffer__consume(ring_.get());
  if (n < 0 && n != -EINTR) throw RuntimeError(errno_message("reading the ring buffer failed", -n));
}

int RingReader::on_record(void* self, void* data, std::size_t size) {
  auto* reader = static_cast<RingReader*>(self);
  ++reader->records_;
  if (reader->decoder_.decode(data, size, reader->event_)) {
    reader->collector_.push(reader->event_);
  } else {
    reader->malformed_.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;
}

}  // namespace profilis
