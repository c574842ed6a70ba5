#include "agent/record_decoder.h"

#include <cstring>

#include "profilis_records.h"

namespace profilis {

RecordDecoder::RecordDecoder(std::vector<std::string> fn_names,
                             std::unordered_map<pid_t, std::string> services,
                             std::int64_t clock_offset_ns)
    : fn_names_(std::move(fn_names)),
      services_(std::move(services)),
      clock_offset_ns_(clock_offset_ns) {}

bool RecordDecoder::decode(const void* data, std::size_t size, Event& event) const {
  if (size < sizeof(profilis_fn_record)) return false;
  profilis_fn_record record;
  std::memcpy(&record, data, sizeof record);  // ring-buffer memory is only 8-byte aligned
  if (record.kind != PROFILIS_RECORD_FN || record.fn_id >= fn_names_.size()) return false;

  event.kind = EventKind::kFn;
  event.ts_ns =
      static_cast<std::uint64_t>(static_cast<std::int64_t>(record.start_ns) + clock_offset_ns_);
  event.dur_ns = record.dur_ns;
  event.pid = record.pid;
  event.tid = record.tid;
  event.comm.assign(record.comm, strnlen(record.comm, sizeof record.comm));
  const auto service = services_.find(static_cast<pid_t>(record.pid));
  event.service.assign(service != services_.end() ? service->second : event.comm);
  event.container_id.clear();
  event.fn.assign(fn_names_[record.fn_id]);
  event.error = false;
  event.route.clear();
  event.method.clear();
  event.status = 0;
  event.query.clear();
  event.db_vendor.clear();
  event.rows = -1;
  return true;
}

}  // namespace profilis
