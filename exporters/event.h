// The event of DESIGN §3: what the decoder produces and every sink consumes.
#pragma once

#include <cstdint>
#include <string>

namespace profilis {

enum class EventKind : std::uint8_t { kReq, kFn, kDb };

struct Event {
  EventKind kind = EventKind::kFn;
  std::uint64_t ts_ns = 0;  // start, Unix epoch
  std::uint64_t dur_ns = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::string comm;
  std::string service;
  std::string container_id;  // empty when unknown
  // REQ
  std::string route;
  std::string method;
  int status = 0;
  // FN
  std::string fn;
  // DB
  std::string query;
  bool query_omitted = false;  // --sql-text off: no "query" field at all
  std::string db_vendor;
  std::int64_t rows = -1;
  // FN and DB
  bool error = false;
};

const char* kind_name(EventKind kind);

}  // namespace profilis
