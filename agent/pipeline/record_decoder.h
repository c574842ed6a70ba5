// Turns raw ring-buffer records into events.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/db_types.h"
#include "agent/inspect/marker_strings.h"
#include "agent/pipeline/process_labeler.h"
#include "exporters/common/event.h"

struct profilis_record_header;  // profilis_records.h, the BPF programs' C header

namespace profilis {

class RecordDecoder {
 public:
  // `fn_names[cookie]` names the function a record's cookie points to; `labeler` gives each pid's
  // service, container and Kubernetes labels (it must outlive the decoder; decode() uses it);
  // `clock_offset_ns` converts BPF monotonic time to Unix epoch time. `marker_strings` (may be
  // null: then no such records are expected) reads the markers' strings that the kernel sends as
  // addresses; it must outlive the decoder. `sql_max_bytes` is
  // --sql-max-bytes: a DB marker's query read from the file is cut as the kernel would cut it.
  RecordDecoder(std::vector<std::string> fn_names, ProcessLabeler& labeler,
                std::int64_t clock_offset_ns, SqlTextMode sql_text = SqlTextMode::kRedacted,
                const MarkerStrings* marker_strings = nullptr, std::uint32_t sql_max_bytes = 256);

  // Overwrites every field of `event` (reusing its strings' capacity). False for a record that is
  // too short, of an unknown kind, names an unknown function, or sends a string's address in an
  // unknown marker object. Decodes on one thread at a time.
  bool decode(const void* data, std::size_t size, Event& event) const;

  // How many decoded events had `field` unreadable (Event::unreadable): strings the kernel could
  // not read from the traced process, reported empty. Any thread, while decode() runs.
  std::uint64_t unreadable_fields(StringField field) const;

 private:
  bool decode_fn(const void* data, std::size_t size, Event& event) const;
  bool decode_db(const void* data, std::size_t size, Event& event) const;
  bool decode_req(const void* data, std::size_t size, Event& event) const;
  bool decode_named_fn(const void* data, std::size_t size, Event& event) const;
  // The fields every kind has, from the record's header and the process's labels: times, ids,
  // comm, service, container and Kubernetes labels; the kind's own fields reset.
  void fill_common(Event& event, EventKind kind, const profilis_record_header& header) const;

  // Marks `field` of `event` unreadable, and counts it.
  void set_unreadable(Event& event, StringField field) const;
  // Sets `out` to a marker's string: read from its object's file when the kernel sent its address
  // (`by_address`), else `text`, what the kernel read. False when the address is not one of a
  // registered marker object's.
  bool marker_string(bool by_address, std::uint32_t object, std::uint64_t address,
                     std::size_t max_bytes, std::string_view text, std::string& out) const;

  std::vector<std::string> fn_names_;
  ProcessLabeler& labeler_;
  std::int64_t clock_offset_ns_;
  SqlTextMode sql_text_;
  const MarkerStrings* marker_strings_;
  std::uint32_t sql_max_bytes_;
  mutable std::string query_text_;  // a DB marker's query read from the file, before normalizing
  mutable std::array<std::atomic<std::uint64_t>, kStringFieldCount> unreadable_{};
};

}  // namespace profilis
