#include "agent/pipeline/record_decoder.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>

#include "agent/pipeline/sql_normalize.h"
#include "exporters/common/utf8.h"
#include "profilis_records.h"

namespace profilis {

RecordDecoder::RecordDecoder(std::vector<std::string> fn_names, ProcessLabeler& labeler,
                             std::int64_t clock_offset_ns, SqlTextMode sql_text,
                             const MarkerStrings* marker_strings, std::uint32_t sql_max_bytes)
    : fn_names_(std::move(fn_names)),
      labeler_(labeler),
      clock_offset_ns_(clock_offset_ns),
      sql_text_(sql_text),
      marker_strings_(marker_strings),
      sql_max_bytes_(std::clamp<std::uint32_t>(sql_max_bytes, 1, PROFILIS_SQL_MAX)) {}

namespace {

std::size_t field_index(StringField field) {
  return static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(field)));
}

// The client library a DB record's `vendor` names (enum profilis_db_vendor); none for 0 (a
// marker's record) or a value this agent does not know.
std::optional<DbVendor> client_library(std::uint16_t vendor) {
  switch (vendor) {
    case PROFILIS_DB_POSTGRESQL:
      return DbVendor::kPostgresql;
    case PROFILIS_DB_MYSQL:
      return DbVendor::kMysql;
    case PROFILIS_DB_SQLITE:
      return DbVendor::kSqlite;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::uint64_t RecordDecoder::unreadable_fields(StringField field) const {
  return unreadable_[field_index(field)].load(std::memory_order_relaxed);
}

void RecordDecoder::set_unreadable(Event& event, StringField field) const {
  event.set_unreadable(field);
  unreadable_[field_index(field)].fetch_add(1, std::memory_order_relaxed);
}

bool RecordDecoder::marker_string(bool by_address, std::uint32_t object, std::uint64_t address,
                                  std::size_t max_bytes, std::string_view text,
                                  std::string& out) const {
  if (!by_address) {
    out.assign(text);
    return true;
  }
  return marker_strings_ != nullptr && marker_strings_->read(object, address, max_bytes, out);
}

bool RecordDecoder::decode(const void* data, std::size_t size, Event& event) const {
  std::uint32_t kind = 0;
  if (size < sizeof(profilis_record_header)) return false;
  // Ring-buffer memory is only 8-byte aligned.
  std::memcpy(&kind, static_cast<const char*>(data) + offsetof(profilis_record_header, kind),
              sizeof kind);
  switch (kind) {
    case PROFILIS_RECORD_FN:
      return decode_fn(data, size, event);
    case PROFILIS_RECORD_DB:
      return decode_db(data, size, event);
    case PROFILIS_RECORD_REQ:
      return decode_req(data, size, event);
    case PROFILIS_RECORD_NAMED_FN:
      return decode_named_fn(data, size, event);
    default:
      return false;
  }
}

void RecordDecoder::fill_common(Event& event, EventKind kind,
                                const profilis_record_header& header) const {
  event.kind = kind;
  event.ts_ns =
      static_cast<std::uint64_t>(static_cast<std::int64_t>(header.start_ns) + clock_offset_ns_);
  event.dur_ns = header.dur_ns;
  event.pid = header.pid;
  event.tid = header.tid;
  event.comm.assign(header.comm, strnlen(header.comm, sizeof header.comm));
  const ProcessLabels& labels = labeler_.labels(static_cast<pid_t>(header.pid), event.comm);
  event.service.assign(labels.service);
  event.container_id.assign(labels.container_id);
  event.k8s_namespace.assign(labels.k8s_namespace);
  event.k8s_pod.assign(labels.k8s_pod);
  event.k8s_container.assign(labels.k8s_container);
  event.route.clear();
  event.method.clear();
  event.status = 0;
  event.fn.clear();
  event.query.clear();
  event.query_omitted = false;
  event.db_vendor.clear();
  event.rows = -1;
  event.error = false;
  event.unreadable = 0;
}

bool RecordDecoder::decode_fn(const void* data, std::size_t size, Event& event) const {
  if (size < sizeof(profilis_fn_record)) return false;
  profilis_fn_record record;
  std::memcpy(&record, data, sizeof record);
  if (record.fn_id >= fn_names_.size()) return false;
  fill_common(event, EventKind::kFn, record.header);
  event.fn.assign(fn_names_[record.fn_id]);
  return true;
}

namespace {

// A string the kernel read into a fixed buffer: up to its NUL, or the whole buffer.
template <std::size_t N>
std::string_view bounded(const char (&text)[N]) {
  return std::string_view(text, strnlen(text, N));
}

}  // namespace

bool RecordDecoder::decode_named_fn(const void* data, std::size_t size, Event& event) const {
  constexpr std::size_t kHeader = offsetof(profilis_named_fn_record, name);
  if (size < kHeader) return false;
  profilis_named_fn_record record;
  std::memcpy(&record, data, kHeader);  // the name's text, when there is one, is copied below
  std::optional<std::string> constant;  // a constant of the marker's object, sent as its address
  if (record.name_object != 0) {
    if (marker_strings_ == nullptr) return false;
    constant = marker_strings_->string_at(record.name_object, record.name_addr, PROFILIS_NAME_MAX);
    if (!constant) return false;
  } else {
    if (size < sizeof record) return false;
    std::memcpy(record.name, static_cast<const char*>(data) + kHeader, sizeof record.name);
  }
  fill_common(event, EventKind::kFn, record.header);
  if (constant) {
    event.fn = std::move(*constant);
  } else if (record.unreadable & PROFILIS_STR_NAME) {
    event.fn.clear();
    set_unreadable(event, StringField::kFn);
  } else {
    event.fn.assign(bounded(record.name));
  }
  event.error = record.error != 0;
  return true;
}

bool RecordDecoder::decode_req(const void* data, std::size_t size, Event& event) const {
  if (size < sizeof(profilis_req_record)) return false;
  profilis_req_record record;
  std::memcpy(&record, data, sizeof record);
  fill_common(event, EventKind::kReq, record.header);
  if (!marker_string(record.strings.by_address & PROFILIS_STR_METHOD, record.strings.object,
                     record.strings.addr[0], PROFILIS_METHOD_MAX, bounded(record.method),
                     event.method) ||
      !marker_string(record.strings.by_address & PROFILIS_STR_ROUTE, record.strings.object,
                     record.strings.addr[1], PROFILIS_ROUTE_MAX, bounded(record.route),
                     event.route)) {
    return false;
  }
  if (record.strings.unreadable & PROFILIS_STR_ROUTE) {
    event.route.clear();
    set_unreadable(event, StringField::kRoute);
  }
  if (record.strings.unreadable & PROFILIS_STR_METHOD) {
    event.method.clear();
    set_unreadable(event, StringField::kMethod);
  }
  event.status = record.status;
  return true;
}

bool RecordDecoder::decode_db(const void* data, std::size_t size, Event& event) const {
  // The record ends where its query's text does.
  constexpr std::size_t kHeader = offsetof(profilis_db_record, query);
  if (size < kHeader) return false;
  profilis_db_record record;  // all but the text, which is read where it lies
  std::memcpy(&record, data, kHeader);
  const bool from_marker = record.vendor == 0;  // the vendor the program named, not a library's
  const std::optional<DbVendor> library = client_library(record.vendor);
  if ((!from_marker && !library) || record.query_len > PROFILIS_SQL_MAX ||
      size < kHeader + record.query_len) {
    return false;
  }
  fill_common(event, EventKind::kDb, record.header);
  if (from_marker) {
    if (!marker_string(record.strings.by_address & PROFILIS_STR_VENDOR, record.strings.object,
                       record.strings.addr[0], PROFILIS_VENDOR_MAX, bounded(record.vendor_name),
                       event.db_vendor)) {
      return false;
    }
  } else {
    event.db_vendor.assign(vendor_name(*library));
  }
  event.rows = record.rows;
  event.error = record.error != 0;
  // Client libraries set only the query bit; markers may set both.
  const bool query_unreadable = (record.strings.unreadable & PROFILIS_STR_QUERY) != 0;
  const bool query_by_address = from_marker && (record.strings.by_address & PROFILIS_STR_QUERY);
  if (from_marker && (record.strings.unreadable & PROFILIS_STR_VENDOR)) {
    event.db_vendor.clear();
    set_unreadable(event, StringField::kDbVendor);
  }
  // A query left out (--sql-text off) is not reported unreadable, nor read from the file.
  if (query_unreadable && sql_text_ != SqlTextMode::kOff)
    set_unreadable(event, StringField::kQuery);
  std::string_view text(static_cast<const char*>(data) + kHeader, record.query_len);
  // A length the library was given may run past the statement's terminating NUL (SQLite reads up
  // to nByte or the NUL, whichever comes first).
  text = text.substr(0, text.find('\0'));
  bool truncated = record.truncated != 0;
  if (query_unreadable) {
    text = {};
    truncated = false;
  } else if (query_by_address && sql_text_ != SqlTextMode::kOff) {
    // A constant of the marker's object, read from the file: cut where the kernel would have cut
    // it (sql_max_bytes with the NUL), but marked cut only when there was more.
    if (!marker_strings_ || !marker_strings_->read(record.strings.object, record.strings.addr[1],
                                                   sql_max_bytes_ + 1, query_text_)) {
      return false;
    }
    truncated = query_text_.size() > sql_max_bytes_ - 1;
    if (truncated) query_text_.resize(sql_max_bytes_ - 1);
    text = query_text_;
  }
  // One limit for every vendor: what a C string read of sql_max_bytes holds (the text before its
  // NUL), also where the library gave a length (SQLite's nByte) and the kernel read one byte more.
  if (text.size() > sql_max_bytes_ - 1) {
    text = text.substr(0, sql_max_bytes_ - 1);
    truncated = true;
  }
  // A cut read ends on a character boundary, not inside one (which would read as U+FFFD).
  if (truncated) text = text.substr(0, without_cut_sequence(text));
  switch (sql_text_) {
    case SqlTextMode::kRaw:
      event.query.assign(text);
      break;
    case SqlTextMode::kRedacted:
      normalize_sql(text, event.query);
      break;
    case SqlTextMode::kOff:
      event.query_omitted = true;
      return true;
  }
  if (truncated) event.query += "\u2026";  // … : the kernel read only the start
  return true;
}

}  // namespace profilis
