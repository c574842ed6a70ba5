// Turns raw ring-buffer records into events.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/db_targets.h"
#include "agent/marker_strings.h"
#include "exporters/event.h"

namespace profilis {

class RecordDecoder {
 public:
  // `fn_names[cookie]` names the function a record's cookie points to; `services` maps a pid to its
  // service label; `clock_offset_ns` converts BPF monotonic time to Unix epoch time.
  // `marker_strings` (may be null: then no such records are expected) reads the FN markers' names
  // that the kernel sends as addresses; it must outlive the decoder.
  RecordDecoder(std::vector<std::string> fn_names, std::unordered_map<pid_t, std::string> services,
                std::int64_t clock_offset_ns, SqlTextMode sql_text = SqlTextMode::kRedacted,
                const MarkerStrings* marker_strings = nullptr);

  // Overwrites every field of `event` (reusing its strings' capacity). False for a record that is
  // too short, of an unknown kind, or names an unknown function.
  bool decode(const void* data, std::size_t size, Event& event) const;

 private:
  bool decode_fn(const void* data, std::size_t size, Event& event) const;
  bool decode_db(const void* data, std::size_t size, Event& event) const;
  bool decode_req(const void* data, std::size_t size, Event& event) const;
  bool decode_named_fn(const void* data, std::size_t size, Event& event) const;
  // The fields every kind has: times, ids, comm, service; the kind's own fields reset.
  void fill_common(Event& event, EventKind kind, std::uint64_t start_ns, std::uint64_t dur_ns,
                   std::uint32_t pid, std::uint32_t tid, const char (&comm)[16]) const;

  std::vector<std::string> fn_names_;
  std::unordered_map<pid_t, std::string> services_;
  std::int64_t clock_offset_ns_;
  SqlTextMode sql_text_;
  const MarkerStrings* marker_strings_;
};

}  // namespace profilis
