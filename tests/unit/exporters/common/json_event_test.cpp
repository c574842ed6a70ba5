#include "exporters/common/json_event.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/common/event.h"

namespace profilis {
namespace {

using nlohmann::json;

const std::string kFffd = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Strict RFC 3629 validation: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  while (i < s.size()) {
    const unsigned char b = byte(i);
    if (b < 0x80) {
      ++i;
    } else if (b >= 0xC2 && b <= 0xDF) {
      if (!cont(i + 1)) return false;
      i += 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return false;
      if (b == 0xE0 && byte(i + 1) < 0xA0) return false;
      if (b == 0xED && byte(i + 1) > 0x9F) return false;
      i += 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return false;
      if (b == 0xF0 && byte(i + 1) < 0x90) return false;
      if (b == 0xF4 && byte(i + 1) > 0x8F) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

std::string encode(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// Encodes `text`, checks that the literal is valid UTF-8 and parses as a JSON string, and returns
// the decoded value.
std::string round_trip(std::string_view text) {
  const std::string literal = encode(text);
  EXPECT_TRUE(is_valid_utf8(literal)) << "literal is not valid UTF-8";
  json parsed;
  try {
    parsed = json::parse(literal);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "does not parse: " << e.what() << "\nliteral: " << literal;
    return {};
  }
  EXPECT_TRUE(parsed.is_string()) << literal;
  return parsed.is_string() ? parsed.get<std::string>() : std::string();
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Positions of each key of the top-level object in the raw text, in the order they appear.
std::vector<std::string> keys_in_text_order(const std::string& text) {
  const json parsed = json::parse(text);
  std::vector<std::pair<std::size_t, std::string>> found;
  for (const auto& item : parsed.items()) {
    const std::string needle = "\"" + item.key() + "\":";
    const std::size_t pos = text.find(needle);
    EXPECT_NE(pos, std::string::npos) << item.key();
    found.emplace_back(pos, item.key());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> keys;
  for (const auto& [pos, key] : found) keys.push_back(key);
  return keys;
}

// Keys in the order the raw compact text lists them, read directly from the text: every `"key":`
// at the top level (values in these tests never contain `":`).
std::vector<std::string> raw_key_sequence(const std::string& text) {
  std::vector<std::string> keys;
  std::size_t pos = 0;
  while ((pos = text.find("\":", pos)) != std::string::npos) {
    const std::size_t open = text.rfind('"', pos - 1);
    keys.push_back(text.substr(open + 1, pos - open - 1));
    pos += 2;
  }
  return keys;
}

Event base_event(EventKind kind) {
  Event e;
  e.kind = kind;
  e.ts_ns = 1764031200123456789ULL;
  e.dur_ns = 812345;
  e.pid = 4242;
  e.tid = 4243;
  e.comm = "api";
  e.service = "api-svc";
  return e;
}

Event fn_event() {
  Event e = base_event(EventKind::kFn);
  e.fn = "fixture::Widget::spin(int)";
  e.error = false;
  return e;
}

Event req_event() {
  Event e = base_event(EventKind::kReq);
  e.route = "/users/{id}";
  e.method = "GET";
  e.status = 404;
  return e;
}

Event db_event() {
  Event e = base_event(EventKind::kDb);
  e.query = "SELECT * FROM users WHERE id = ?";
  e.db_vendor = "postgresql";
  e.rows = -1;
  e.error = true;
  return e;
}

std::string encode_event(const Event& e, JsonStyle style = JsonStyle::kCompact) {
  std::string out;
  append_json_event(out, e, style);
  return out;
}

// ---------------------------------------------------------------------------------------------
// append_json_string

TEST(JsonString, shouldEncodePlainAsciiVerbatim) {
  EXPECT_EQ(encode("hello world"), "\"hello world\"");
  EXPECT_EQ(round_trip("hello world"), "hello world");
}

TEST(JsonString, shouldEncodeEmptyString) {
  EXPECT_EQ(encode(""), "\"\"");
  EXPECT_EQ(round_trip(""), "");
}

TEST(JsonString, shouldAppendWithoutClobberingExistingOutput) {
  std::string out = "prefix:";
  append_json_string(out, "x");
  EXPECT_EQ(out, "prefix:\"x\"");
}

TEST(JsonString, shouldEscapeQuote) {
  EXPECT_EQ(encode("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(round_trip("say \"hi\""), "say \"hi\"");
}

TEST(JsonString, shouldEscapeBackslash) {
  EXPECT_EQ(encode("C:\\path\\"), R"("C:\\path\\")");
  EXPECT_EQ(round_trip("C:\\path\\"), "C:\\path\\");
  EXPECT_EQ(round_trip("\\\""), "\\\"");
  EXPECT_EQ(round_trip("\\u0041"), "\\u0041");  // a literal backslash-u is not an escape
}

TEST(JsonString, shouldEscapeEveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string text(1, static_cast<char>(c));
    const std::string literal = encode(text);
    SCOPED_TRACE("control character " + std::to_string(c));
    // No raw control byte in the literal.
    for (char ch : literal) EXPECT_GE(static_cast<unsigned char>(ch), 0x20);
    EXPECT_EQ(round_trip(text), text);
  }
}

TEST(JsonString, shouldUseShortEscapesForCommonControlCharacters) {
  EXPECT_EQ(encode("\n"), R"("\n")");
  EXPECT_EQ(encode("\r"), R"("\r")");
  EXPECT_EQ(encode("\t"), R"("\t")");
  EXPECT_EQ(encode("\b"), R"("\b")");
  EXPECT_EQ(encode("\f"), R"("\f")");
  EXPECT_EQ(encode("\x01"), R"("\u0001")");
  EXPECT_EQ(encode("\x1f"), R"("\u001f")");
}

TEST(JsonString, shouldEscapeDel) {
  const std::string literal = encode("\x7f");
  EXPECT_EQ(literal.find('\x7f'), std::string::npos);
  EXPECT_EQ(round_trip("\x7f"), "\x7f");
}

TEST(JsonString, shouldEscapeEmbeddedNul) {
  const std::string text("a\0b", 3);
  ASSERT_EQ(text.size(), 3u);
  const std::string literal = encode(text);
  EXPECT_EQ(literal.find('\0'), std::string::npos);
  EXPECT_EQ(literal, R"("a\u0000b")");
  EXPECT_EQ(round_trip(text), text);
  const std::string only_nuls(4, '\0');
  EXPECT_EQ(round_trip(only_nuls), only_nuls);
}

TEST(JsonString, shouldKeepValidMultiByteUtf8Unchanged) {
  const std::string e_acute = "caf\xC3\xA9";                 // é, 2 bytes
  const std::string zhong = "\xE4\xB8\xAD";                  // 中, 3 bytes
  const std::string grin = "\xF0\x9F\x98\x80";               // 😀, 4 bytes
  const std::string edges = "\xC2\x80\xDF\xBF\xE0\xA0\x80";  // U+0080, U+07FF, U+0800
  const std::string more = "\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
  for (const std::string& s : {e_acute, zhong, grin, edges, more}) {
    EXPECT_EQ(encode(s), "\"" + s + "\"");
    EXPECT_EQ(round_trip(s), s);
  }
  const std::string mixed = "a" + e_acute + "\"" + zhong + "\n" + grin;
  EXPECT_EQ(round_trip(mixed), mixed);
}

TEST(JsonString, shouldReplaceLoneContinuationBytes) {
  EXPECT_EQ(round_trip("\x80"), kFffd);
  EXPECT_EQ(round_trip(std::string("a\xBF") + "b"), "a" + kFffd + "b");
  EXPECT_EQ(round_trip("\x80\x80\x80"), repeat(kFffd, 3));
}

TEST(JsonString, shouldReplaceTruncatedSequencesAtEndOfString) {
  EXPECT_EQ(round_trip("x\xC3"), "x" + kFffd);                     // 2-byte, 1 of 2
  EXPECT_EQ(round_trip("x\xE4\xB8"), "x" + repeat(kFffd, 2));      // 3-byte, 2 of 3
  EXPECT_EQ(round_trip("x\xE4"), "x" + kFffd);                     // 3-byte, 1 of 3
  EXPECT_EQ(round_trip("x\xF0\x9F\x98"), "x" + repeat(kFffd, 3));  // 4-byte, 3 of 4
  EXPECT_EQ(round_trip("x\xF0\x9F"), "x" + repeat(kFffd, 2));      // 4-byte, 2 of 4
  EXPECT_EQ(round_trip("x\xF0"), "x" + kFffd);                     // 4-byte, 1 of 4
}

TEST(JsonString, shouldReplaceTruncatedSequenceFollowedByAscii) {
  // The ASCII byte that interrupts a sequence survives.
  EXPECT_EQ(round_trip(std::string("\xE4\xB8") + "A"), repeat(kFffd, 2) + "A");
  EXPECT_EQ(round_trip("\xC3\""), kFffd + "\"");
}

TEST(JsonString, shouldReplaceOverlongEncodings) {
  EXPECT_EQ(round_trip("\xC0\x80"), repeat(kFffd, 2));          // overlong NUL
  EXPECT_EQ(round_trip("\xC1\xBF"), repeat(kFffd, 2));          // overlong U+007F
  EXPECT_EQ(round_trip("\xE0\x80\x80"), repeat(kFffd, 3));      // overlong NUL, 3 bytes
  EXPECT_EQ(round_trip("\xE0\x9F\xBF"), repeat(kFffd, 3));      // overlong U+07FF
  EXPECT_EQ(round_trip("\xF0\x80\x80\x80"), repeat(kFffd, 4));  // overlong NUL, 4 bytes
  EXPECT_EQ(round_trip("\xF0\x8F\xBF\xBF"), repeat(kFffd, 4));  // overlong U+FFFF
}

TEST(JsonString, shouldReplaceUtf16Surrogates) {
  EXPECT_EQ(round_trip("\xED\xA0\x80"), repeat(kFffd, 3));  // U+D800
  EXPECT_EQ(round_trip("\xED\xBF\xBF"), repeat(kFffd, 3));  // U+DFFF
  // A CESU-8 style pair of surrogates for U+1F600.
  EXPECT_EQ(round_trip("\xED\xA0\xBD\xED\xB8\x80"), repeat(kFffd, 6));
}

TEST(JsonString, shouldReplaceCodePointsAboveU10FFFF) {
  EXPECT_EQ(round_trip("\xF4\x90\x80\x80"), repeat(kFffd, 4));  // U+110000
  EXPECT_EQ(round_trip("\xF4\xBF\xBF\xBF"), repeat(kFffd, 4));
}

TEST(JsonString, shouldReplaceBytesF5ToFF) {
  for (int b = 0xF5; b <= 0xFF; ++b) {
    SCOPED_TRACE("byte " + std::to_string(b));
    const std::string text = "<" + std::string(1, static_cast<char>(b)) + ">";
    EXPECT_EQ(round_trip(text), "<" + kFffd + ">");
    // Even when followed by continuation bytes that would complete a sequence for F0-F4.
    const std::string seq = std::string(1, static_cast<char>(b)) + "\x80\x80\x80";
    EXPECT_EQ(round_trip(seq), repeat(kFffd, 4));
  }
}

TEST(JsonString, shouldReplaceEveryInvalidByteIndividually) {
  // A valid character right after invalid bytes is kept.
  EXPECT_EQ(round_trip("\xFF\xC3\xA9\xFE"), kFffd + "\xC3\xA9" + kFffd);
  EXPECT_EQ(round_trip("\xC3\xC3\xA9"), kFffd + "\xC3\xA9");
  EXPECT_EQ(round_trip("\xE4\xF0\x9F\x98\x80"), kFffd + "\xF0\x9F\x98\x80");
}

TEST(JsonString, shouldProduceValidJsonForEverySingleByte) {
  for (int b = 0; b < 256; ++b) {
    SCOPED_TRACE("byte " + std::to_string(b));
    const std::string text(1, static_cast<char>(b));
    const std::string decoded = round_trip(text);
    if (b < 0x80) {
      EXPECT_EQ(decoded, text);
    } else {
      EXPECT_EQ(decoded, kFffd);
    }
  }
}

TEST(JsonString, shouldProduceValidJsonAndUtf8ForRandomBytes) {
  std::mt19937 rng(20240601);
  // Bias toward the interesting bytes so that near-valid sequences are common.
  const std::vector<unsigned char> interesting = {
      0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x1F, 0x20, '"',  '\\', '/',  'u',  0x7F, 0x80, 0x8F,
      0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::uniform_int_distribution<int> any_byte(0, 255);
  std::uniform_int_distribution<std::size_t> pick(0, interesting.size() - 1);
  std::uniform_int_distribution<int> length(0, 64);
  std::uniform_int_distribution<int> coin(0, 1);
  int failures = 0;
  for (int round = 0; round < 20000 && failures < 5; ++round) {
    std::string text(static_cast<std::size_t>(length(rng)), '\0');
    for (char& c : text) {
      c = static_cast<char>(coin(rng) ? any_byte(rng) : interesting[pick(rng)]);
    }
    const std::string literal = encode(text);
    bool ok = is_valid_utf8(literal);
    std::string decoded;
    try {
      const json parsed = json::parse(literal);
      ok = ok && parsed.is_string();
      if (parsed.is_string()) decoded = parsed.get<std::string>();
    } catch (const json::exception&) {
      ok = false;
    }
    // Valid input must survive unchanged; any input decodes to valid UTF-8.
    ok = ok && is_valid_utf8(decoded);
    if (is_valid_utf8(text)) ok = ok && decoded == text;
    if (!ok) {
      ++failures;
      ADD_FAILURE() << "round " << round << " literal: " << literal;
    }
  }
  EXPECT_EQ(failures, 0);
}

// ---------------------------------------------------------------------------------------------
// append_json_event

TEST(JsonEvent, shouldWriteFnFieldsInDesignOrder) {
  const std::string line = encode_event(fn_event());
  const std::vector<std::string> expected = {"ts_ns", "kind", "fn",   "error",  "dur_ns",
                                             "pid",   "tid",  "comm", "service"};
  EXPECT_EQ(raw_key_sequence(line), expected) << line;
  EXPECT_EQ(keys_in_text_order(line), expected) << line;
}

TEST(JsonEvent, shouldWriteReqFieldsInDesignOrder) {
  const std::string line = encode_event(req_event());
  const std::vector<std::string> expected = {"ts_ns",  "kind", "route", "method", "status",
                                             "dur_ns", "pid",  "tid",   "comm",   "service"};
  EXPECT_EQ(raw_key_sequence(line), expected) << line;
  EXPECT_EQ(keys_in_text_order(line), expected) << line;
}

TEST(JsonEvent, shouldWriteDbFieldsInDesignOrder) {
  const std::string line = encode_event(db_event());
  const std::vector<std::string> expected = {"ts_ns", "kind",  "query",  "db_vendor",
                                             "rows",  "error", "dur_ns", "pid",
                                             "tid",   "comm",  "service"};
  EXPECT_EQ(raw_key_sequence(line), expected) << line;
  EXPECT_EQ(keys_in_text_order(line), expected) << line;
}

TEST(JsonEvent, shouldMatchTheDesignExampleExactly) {
  Event e;
  e.kind = EventKind::kDb;
  e.ts_ns = 1764031200123456789ULL;
  e.query = "SELECT * FROM users WHERE id = ?";
  e.db_vendor = "postgresql";
  e.rows = -1;
  e.error = false;
  e.dur_ns = 812345;
  e.pid = 4242;
  e.tid = 4242;
  e.comm = "api";
  e.service = "api";
  EXPECT_EQ(encode_event(e),
            "{\"ts_ns\":1764031200123456789,\"kind\":\"DB\",\"query\":\"SELECT * FROM users WHERE "
            "id = ?\",\"db_vendor\":\"postgresql\",\"rows\":-1,\"error\":false,\"dur_ns\":812345,"
            "\"pid\":4242,\"tid\":4242,\"comm\":\"api\",\"service\":\"api\"}\n");
}

TEST(JsonEvent, shouldCarryFnValues) {
  Event e = fn_event();
  e.error = true;
  const json j = json::parse(encode_event(e));
  EXPECT_EQ(j["ts_ns"].get<std::uint64_t>(), 1764031200123456789ULL);
  EXPECT_EQ(j["kind"], "FN");
  EXPECT_EQ(j["fn"], "fixture::Widget::spin(int)");
  EXPECT_EQ(j["error"], true);
  EXPECT_EQ(j["dur_ns"].get<std::uint64_t>(), 812345u);
  EXPECT_EQ(j["pid"].get<std::uint32_t>(), 4242u);
  EXPECT_EQ(j["tid"].get<std::uint32_t>(), 4243u);
  EXPECT_EQ(j["comm"], "api");
  EXPECT_EQ(j["service"], "api-svc");
  EXPECT_FALSE(j.contains("route"));
  EXPECT_FALSE(j.contains("query"));
  EXPECT_FALSE(j.contains("rows"));
  EXPECT_FALSE(j.contains("status"));
}

TEST(JsonEvent, shouldCarryReqValues) {
  const json j = json::parse(encode_event(req_event()));
  EXPECT_EQ(j["kind"], "REQ");
  EXPECT_EQ(j["route"], "/users/{id}");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_TRUE(j["status"].is_number_integer());
  EXPECT_EQ(j["status"].get<int>(), 404);
  EXPECT_FALSE(j.contains("error"));
  EXPECT_FALSE(j.contains("fn"));
}

TEST(JsonEvent, shouldCarryDbValues) {
  Event e = db_event();
  e.rows = 17;
  const json j = json::parse(encode_event(e));
  EXPECT_EQ(j["kind"], "DB");
  EXPECT_EQ(j["query"], "SELECT * FROM users WHERE id = ?");
  EXPECT_EQ(j["db_vendor"], "postgresql");
  EXPECT_EQ(j["rows"].get<std::int64_t>(), 17);
  EXPECT_EQ(j["error"], true);
  EXPECT_TRUE(json::parse(encode_event(db_event()))["rows"] == -1);
}

TEST(JsonEvent, shouldWriteExtremeIntegersExactly) {
  Event e = db_event();
  e.ts_ns = std::numeric_limits<std::uint64_t>::max();
  e.dur_ns = 0;
  e.pid = std::numeric_limits<std::uint32_t>::max();
  e.tid = 0;
  e.rows = std::numeric_limits<std::int64_t>::min();
  const json j = json::parse(encode_event(e));
  EXPECT_EQ(j["ts_ns"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j["dur_ns"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["pid"].get<std::uint64_t>(), std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(j["rows"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());

  Event r = req_event();
  r.status = -1;
  EXPECT_EQ(json::parse(encode_event(r))["status"].get<int>(), -1);
}

TEST(JsonEvent, shouldOmitContainerIdWhenUnset) {
  for (const Event& e : {fn_event(), req_event(), db_event()}) {
    const std::string line = encode_event(e);
    EXPECT_EQ(line.find("container_id"), std::string::npos) << line;
  }
}

TEST(JsonEvent, shouldWriteContainerIdLastWhenSet) {
  for (Event e : {fn_event(), req_event(), db_event()}) {
    e.container_id = "0123456789abcdef";
    const std::string line = encode_event(e);
    const std::vector<std::string> keys = raw_key_sequence(line);
    ASSERT_FALSE(keys.empty());
    EXPECT_EQ(keys.back(), "container_id") << line;
    EXPECT_EQ(keys[keys.size() - 2], "service") << line;
    EXPECT_EQ(json::parse(line)["container_id"], "0123456789abcdef");
  }
}

TEST(JsonEvent, shouldOmitKubernetesFieldsWhenUnset) {
  for (Event e : {fn_event(), req_event(), db_event()}) {
    e.container_id = "0123456789abcdef";  // a container outside Kubernetes (Docker, podman)
    const std::string line = encode_event(e);
    EXPECT_EQ(line.find("k8s_"), std::string::npos) << line;
  }
}

// docs/design.md §3: after `service`, where known, container_id, k8s_namespace, k8s_pod,
// k8s_container, then `unreadable` last.
TEST(JsonEvent, shouldWriteKubernetesFieldsAfterContainerIdAndBeforeUnreadable) {
  for (Event e : {fn_event(), req_event(), db_event()}) {
    e.container_id = "0123456789abcdef";
    e.k8s_namespace = "shop-prod";
    e.k8s_pod = "checkout-api.v2-7f9c6b5d4-qz8mn";
    e.k8s_container = "app";
    e.set_unreadable(e.kind == EventKind::kFn    ? StringField::kFn
                     : e.kind == EventKind::kReq ? StringField::kRoute
                                                 : StringField::kDbVendor);
    const std::string line = encode_event(e);
    std::vector<std::string> keys = raw_key_sequence(line);
    ASSERT_GE(keys.size(), 6u) << line;
    keys.erase(keys.begin(), keys.end() - 6);
    EXPECT_EQ(keys, (std::vector<std::string>{"service", "container_id", "k8s_namespace", "k8s_pod",
                                              "k8s_container", "unreadable"}))
        << line;
    const json j = json::parse(line);
    EXPECT_EQ(j["k8s_namespace"], "shop-prod");
    EXPECT_EQ(j["k8s_pod"], "checkout-api.v2-7f9c6b5d4-qz8mn");
    EXPECT_EQ(j["k8s_container"], "app");
  }
}

// Fields the kernel could not read are named, in the event's own field order whatever order they
// were marked in, in one array after every other field.
TEST(JsonEvent, shouldListUnreadableFieldsLastInTheEventsFieldOrder) {
  Event r = req_event();
  r.route.clear();
  r.method.clear();
  r.set_unreadable(StringField::kMethod);
  r.set_unreadable(StringField::kRoute);
  const std::string line = encode_event(r);
  const std::string tail = R"("service":"api-svc","unreadable":["route","method"]})"
                           "\n";
  ASSERT_GE(line.size(), tail.size());
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail) << line;
  EXPECT_EQ(json::parse(line)["route"], "");

  Event d = db_event();
  d.container_id = "0123456789abcdef";
  d.set_unreadable(StringField::kDbVendor);
  d.set_unreadable(StringField::kQuery);
  const std::string db_line = encode_event(d);
  const std::vector<std::string> keys = raw_key_sequence(db_line);
  ASSERT_GE(keys.size(), 2u);
  EXPECT_EQ(keys[keys.size() - 2], "container_id") << db_line;
  EXPECT_EQ(keys.back(), "unreadable") << db_line;
  EXPECT_EQ(json::parse(db_line)["unreadable"], json::array({"query", "db_vendor"}));

  Event f = fn_event();
  f.fn.clear();
  f.set_unreadable(StringField::kFn);
  EXPECT_EQ(json::parse(encode_event(f))["unreadable"], json::array({"fn"}));
  std::string pretty;
  append_json_event(pretty, f, JsonStyle::kPretty);
  EXPECT_EQ(json::parse(pretty), json::parse(encode_event(f))) << pretty;
}

TEST(JsonEvent, shouldOmitUnreadableWhenEveryFieldWasRead) {
  for (const Event& e : {fn_event(), req_event(), db_event()}) {
    const std::string line = encode_event(e);
    EXPECT_EQ(line.find("unreadable"), std::string::npos) << line;
  }
}

// With --sql-text off there is no "query" field, so it cannot be named unreadable.
TEST(JsonEvent, shouldNotNameAQueryLeftOut) {
  Event d = db_event();
  d.query_omitted = true;
  d.set_unreadable(StringField::kQuery);
  EXPECT_EQ(encode_event(d).find("unreadable"), std::string::npos) << encode_event(d);
  d.set_unreadable(StringField::kDbVendor);
  EXPECT_EQ(json::parse(encode_event(d))["unreadable"], json::array({"db_vendor"}));
}

TEST(JsonEvent, shouldNameEveryStringFieldByItsKey) {
  std::vector<std::string> names;
  for (const StringField field : kStringFields) names.emplace_back(field_name(field));
  EXPECT_EQ(names, (std::vector<std::string>{"route", "method", "fn", "query", "db_vendor"}));
}

TEST(JsonEvent, shouldEndWithExactlyOneNewline) {
  for (Event e : {fn_event(), req_event(), db_event()}) {
    e.comm = "multi\nline\r\n";
    e.fn = "a\nb";
    e.route = "/x\n";
    e.query = "SELECT 1\n;\n";
    e.container_id = "c\n";
    const std::string line = encode_event(e);
    ASSERT_GE(line.size(), 2u);
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line[line.size() - 2], '}');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "a raw newline inside the line: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos);
  }
}

TEST(JsonEvent, shouldAppendWithoutClobberingExistingOutput) {
  std::string out;
  append_json_event(out, fn_event());
  const std::size_t first = out.size();
  append_json_event(out, db_event());
  EXPECT_EQ(out.substr(0, first), encode_event(fn_event()));
  EXPECT_EQ(out.substr(first), encode_event(db_event()));
}

TEST(JsonEvent, shouldParsePrettyStyleToTheSameObject) {
  for (Event e : {fn_event(), req_event(), db_event()}) {
    for (int with_container = 0; with_container < 2; ++with_container) {
      if (with_container) e.container_id = "abc";
      const std::string compact = encode_event(e, JsonStyle::kCompact);
      const std::string pretty = encode_event(e, JsonStyle::kPretty);
      EXPECT_NE(compact, pretty);
      EXPECT_EQ(json::parse(pretty), json::parse(compact)) << pretty;
      EXPECT_EQ(keys_in_text_order(pretty), keys_in_text_order(compact));
      ASSERT_GE(pretty.size(), 2u);
      EXPECT_EQ(pretty.back(), '\n');
      EXPECT_NE(pretty[pretty.size() - 2], '\n') << "more than one trailing newline";
    }
  }
}

TEST(JsonEvent, shouldEncodeHostileStringFieldsAsValidJson) {
  static constexpr char kHostile[] =
      "q\"b\\n\0\x01\x1f\x7f\x80\xC0\x80\xED\xA0\x80\xF4\x90\x80\x80\xFF\xE4\xB8";
  const std::string hostile(kHostile, sizeof kHostile - 1);
  for (Event e : {fn_event(), req_event(), db_event()}) {
    e.comm = hostile;
    e.service = hostile;
    e.container_id = hostile;
    e.k8s_namespace = hostile;
    e.k8s_pod = hostile;
    e.k8s_container = hostile;
    e.fn = hostile;
    e.route = hostile;
    e.method = hostile;
    e.query = hostile;
    e.db_vendor = hostile;
    for (JsonStyle style : {JsonStyle::kCompact, JsonStyle::kPretty}) {
      const std::string line = encode_event(e, style);
      EXPECT_TRUE(is_valid_utf8(line));
      json j;
      ASSERT_NO_THROW(j = json::parse(line)) << line;
      EXPECT_EQ(j["comm"].get<std::string>(), round_trip(hostile));
      EXPECT_EQ(j["container_id"].get<std::string>(), round_trip(hostile));
      EXPECT_EQ(j["k8s_pod"].get<std::string>(), round_trip(hostile));
    }
  }
}

}  // namespace
}  // namespace profilis
