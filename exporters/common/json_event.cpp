#include "exporters/common/json_event.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "exporters/common/utf8.h"

namespace profilis {

const char* kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kReq:
      return "REQ";
    case EventKind::kFn:
      return "FN";
    case EventKind::kDb:
      return "DB";
  }
  return "FN";
}

const char* field_name(StringField field) {
  switch (field) {
    case StringField::kRoute:
      return "route";
    case StringField::kMethod:
      return "method";
    case StringField::kFn:
      return "fn";
    case StringField::kQuery:
      return "query";
    case StringField::kDbVendor:
      return "db_vendor";
  }
  return "";
}

namespace {

// The end of the run of bytes from `i` on that go into a JSON string as they are: printable ASCII
// other than '"' and '\\'.
std::size_t plain_run_end(std::string_view s, std::size_t i) {
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') break;
    ++i;
  }
  return i;
}

void append_escaped_ascii(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default:
      break;
  }
  if (c < 0x20 || c == 0x7F) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    return;
  }
  out += static_cast<char>(c);
}

template <typename Int>
void append_int(std::string& out, Int value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// Writes `"key":` with the separator and indentation of the style; keys are fixed ASCII.
class ObjectWriter {
 public:
  ObjectWriter(std::string& out, JsonStyle style)
      : out_(out), pretty_(style == JsonStyle::kPretty) {
    out_ += '{';
  }
  // Laid out in a buffer and appended once: appending piece by piece cost a quarter of encoding.
  void key(std::string_view name) {
    char buf[kMaxKey + 8];
    std::size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    if (pretty_) n = put(buf, n, "\n  ");
    buf[n++] = '"';
    n = put(buf, n, name.substr(0, kMaxKey));
    n = put(buf, n, pretty_ ? "\": " : "\":");
    out_.append(buf, n);
  }
  void string(std::string_view name, std::string_view value) {
    key(name);
    append_json_string(out_, value);
  }
  template <typename Int>
  void integer(std::string_view name, Int value) {
    key(name);
    append_int(out_, value);
  }
  void boolean(std::string_view name, bool value) {
    key(name);
    out_ += value ? "true" : "false";
  }
  // `"name":["a","b"]`: the names of the fields whose bits are in `fields`, in kStringFields order.
  void field_names(std::string_view name, std::uint8_t fields) {
    key(name);
    out_ += '[';
    bool first = true;
    for (const StringField field : kStringFields) {
      if ((fields & static_cast<std::uint8_t>(field)) == 0) continue;
      if (!first) out_ += ',';
      first = false;
      out_ += '"';
      out_ += field_name(field);
      out_ += '"';
    }
    out_ += ']';
  }
  void close() { out_ += pretty_ ? "\n}\n" : "}\n"; }

 private:
  static constexpr std::size_t kMaxKey = 24;  // longer than any key of docs/design.md §3

  static std::size_t put(char* buf, std::size_t at, std::string_view text) {
    std::memcpy(buf + at, text.data(), text.size());
    return at + text.size();
  }

  std::string& out_;
  bool pretty_;
  bool first_ = true;
};

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of bytes that need nothing, nearly all of a typical string, are copied in one go: byte
    // by byte appending was a third of the encoding time.
    const std::size_t run = plain_run_end(text, i);
    out.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      append_escaped_ascii(out, c);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      out += kUtf8Replacement;
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  out += '"';
}

void append_json_event(std::string& out, const Event& event, JsonStyle style) {
  ObjectWriter w(out, style);
  w.integer("ts_ns", event.ts_ns);
  w.string("kind", kind_name(event.kind));
  switch (event.kind) {
    case EventKind::kReq:
      w.string("route", event.route);
      w.string("method", event.method);
      w.integer("status", event.status);
      break;
    case EventKind::kFn:
      w.string("fn", event.fn);
      w.boolean("error", event.error);
      break;
    case EventKind::kDb:
      if (!event.query_omitted) w.string("query", event.query);
      w.string("db_vendor", event.db_vendor);
      w.integer("rows", event.rows);
      w.boolean("error", event.error);
      break;
  }
  w.integer("dur_ns", event.dur_ns);
  w.integer("pid", event.pid);
  w.integer("tid", event.tid);
  w.string("comm", event.comm);
  w.string("service", event.service);
  if (!event.container_id.empty()) w.string("container_id", event.container_id);
  if (!event.k8s_namespace.empty()) w.string("k8s_namespace", event.k8s_namespace);
  if (!event.k8s_pod.empty()) w.string("k8s_pod", event.k8s_pod);
  if (!event.k8s_container.empty()) w.string("k8s_container", event.k8s_container);
  // Only the fields the event has (no "query" with --sql-text off).
  std::uint8_t unreadable = event.unreadable;
  if (event.query_omitted) unreadable &= ~static_cast<std::uint8_t>(StringField::kQuery);
  if (unreadable != 0) w.field_names("unreadable", unreadable);
  w.close();
}

}  // namespace profilis
