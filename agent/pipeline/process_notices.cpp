#include "agent/pipeline/process_notices.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "agent/common/errors.h"

namespace profilis {

void ProcessNotices::RingDeleter::operator()(ring_buffer* ring) const { ring_buffer__free(ring); }

ProcessNotices::ProcessNotices(int ring_map_fd)
    : ring_(ring_buffer__new(ring_map_fd, &ProcessNotices::on_notice, this, nullptr)) {
  if (!ring_)
    throw RuntimeError(errno_message("cannot open the process-notice ring buffer", errno));
}

ProcessNotices::~ProcessNotices() = default;

int ProcessNotices::epoll_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

int ProcessNotices::on_notice(void* self, void* data, std::size_t size) {
  auto& notices = static_cast<ProcessNotices*>(self)->taken_;
  if (size < sizeof(profilis_process_notice)) return 0;  // not ours: ignored
  profilis_process_notice notice;
  std::memcpy(&notice, data, sizeof notice);
  notices.push_back(notice);
  return 0;
}

std::vector<profilis_process_notice> ProcessNotices::take() {
  taken_.clear();
  if (ring_buffer__consume(ring_.get()) < 0) {
    throw RuntimeError(errno_message("cannot read the process-notice ring buffer", errno));
  }
  return std::move(taken_);
}

}  // namespace profilis
