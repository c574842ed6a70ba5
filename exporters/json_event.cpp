#include "exporters/json_event.h"

#include <charconv>
#include <cstdint>

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

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  const unsigned char b = byte(i);
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b == 0xE0 && b1 < 0xA0) return 0;  // overlong
    if (b == 0xED && b1 > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b == 0xF0 && b1 < 0x90) return 0;  // overlong
    if (b == 0xF4 && b1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
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
  void key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    if (pretty_) out_ += "\n  ";
    out_ += '"';
    out_ += name;
    out_ += pretty_ ? "\": " : "\":";
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
  void close() { out_ += pretty_ ? "\n}\n" : "}\n"; }

 private:
  std::string& out_;
  bool pretty_;
  bool first_ = true;
};

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      append_escaped_ascii(out, c);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      out += kReplacement;
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
      w.string("query", event.query);
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
  w.close();
}

}  // namespace profilis
