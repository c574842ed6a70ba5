// The kernel's notices of processes that exec and exit under --node/--binary
// (bpf/process_rules.bpf.h), taken from their own ring buffer.
#pragma once

#include <memory>
#include <vector>

#include "profilis_records.h"

struct ring_buffer;

namespace profilis {

class ProcessNotices {
 public:
  explicit ProcessNotices(int ring_map_fd);
  ~ProcessNotices();
  ProcessNotices(const ProcessNotices&) = delete;
  ProcessNotices& operator=(const ProcessNotices&) = delete;

  // Readable when notices wait; for an outer epoll set.
  int epoll_fd() const;
  // Every notice waiting now, oldest first.
  std::vector<profilis_process_notice> take();

 private:
  static int on_notice(void* self, void* data, std::size_t size);

  struct RingDeleter {
    void operator()(ring_buffer* ring) const;
  };
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  std::vector<profilis_process_notice> taken_;
};

}  // namespace profilis
