// The event of docs/design.md §3: what the decoder produces and every sink consumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

namespace profilis {

enum class EventKind : std::uint8_t { kReq, kFn, kDb };

// The string fields an event takes from the traced process, as bits of Event::unreadable, in the
// order an event has them.
enum class StringField : std::uint8_t {
  kRoute = 1 << 0,
  kMethod = 1 << 1,
  kFn = 1 << 2,
  kQuery = 1 << 3,
  kDbVendor = 1 << 4,
};
inline constexpr StringField kStringFields[] = {StringField::kRoute, StringField::kMethod,
                                                StringField::kFn, StringField::kQuery,
                                                StringField::kDbVendor};
inline constexpr std::size_t kStringFieldCount = std::size(kStringFields);

// The field's JSON key: "route", "method", "fn", "query", "db_vendor".
const char* field_name(StringField field);

struct Event {
  EventKind kind = EventKind::kFn;
  std::uint64_t ts_ns = 0;  // start, Unix epoch
  std::uint64_t dur_ns = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::string comm;
  std::string service;
  // Empty when unknown, and then not written: a process outside containers, outside Kubernetes.
  std::string container_id;
  std::string k8s_namespace;
  std::string k8s_pod;
  std::string k8s_container;
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
  // StringField bits: fields the kernel could not read from the process (their page was not mapped,
  // or the address was bad). Their text is empty, and is not the value.
  std::uint8_t unreadable = 0;

  bool is_unreadable(StringField field) const {
    return (unreadable & static_cast<std::uint8_t>(field)) != 0;
  }
  void set_unreadable(StringField field) { unreadable |= static_cast<std::uint8_t>(field); }
};

const char* kind_name(EventKind kind);

}  // namespace profilis
