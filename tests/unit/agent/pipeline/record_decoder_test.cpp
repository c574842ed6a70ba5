#include "agent/pipeline/record_decoder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "exporters/common/utf8.h"
#include "profilis_records.h"
#include "tests/unit/agent/pipeline/fake_proc.h"

namespace profilis {
namespace {

constexpr std::int64_t kOffset = 1'000'000'000;

// No process is in it: every event is named by its record's comm.
ProcessLabeler& no_processes() {
  static ProcessLabeler labeler({.proc_root = "/nonexistent/proc"});
  return labeler;
}

RecordDecoder decoder(SqlTextMode mode = SqlTextMode::kRedacted) {
  return RecordDecoder({"fx_sleep_ms", "libstdcxx:throw"}, no_processes(), kOffset, mode);
}

template <typename Record>
void fill_header(Record& r, std::uint32_t kind) {
  std::memset(&r, 0, sizeof r);
  r.header.kind = kind;
  r.header.pid = 42;
  r.header.tid = 43;
  r.header.start_ns = 100;
  r.header.dur_ns = 250;
  std::strcpy(r.header.comm, "api");
}

TEST(RecordDecoder, shouldDecodeARequestMarkerRecord) {
  profilis_req_record r;
  fill_header(r, PROFILIS_RECORD_REQ);
  r.status = 404;
  std::strcpy(r.method, "GET");
  std::strcpy(r.route, "/users/{id}");
  Event e;
  ASSERT_TRUE(decoder().decode(&r, sizeof r, e));
  EXPECT_EQ(e.kind, EventKind::kReq);
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.route, "/users/{id}");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.ts_ns, 100u + kOffset);
  EXPECT_EQ(e.dur_ns, 250u);
  EXPECT_EQ(e.tid, 43u);
  EXPECT_EQ(e.service, "api");
}

// A process's container and Kubernetes labels go into each of its events; an event reused for
// another process (the reader reuses them) keeps none of them, and a pid gone is named by its
// record's comm.
TEST(RecordDecoder, shouldLabelEventsWithTheirProcesssContainer) {
  const std::string id(64, 'a');
  FakeProc proc;
  proc.process(42, "checkout", "0::/system.slice/docker-" + id + ".scope\n");
  proc.log_link("checkout-7f9c-qz8mn_shop_app-" + id + ".log");
  proc.process(44, "batch", "0::/system.slice/cron.service\n");
  ProcessLabeler labeler(proc.options());
  const RecordDecoder d({"fx_sleep_ms"}, labeler, kOffset);
  profilis_fn_record r;
  fill_header(r, PROFILIS_RECORD_FN);
  r.fn_id = 0;
  Event e;
  ASSERT_TRUE(d.decode(&r, sizeof r, e));
  EXPECT_EQ(e.service, "checkout");
  EXPECT_EQ(e.container_id, id);
  EXPECT_EQ(e.k8s_namespace, "shop");
  EXPECT_EQ(e.k8s_pod, "checkout-7f9c-qz8mn");
  EXPECT_EQ(e.k8s_container, "app");

  for (const std::uint32_t pid : {44u, 45u}) {
    r.header.pid = pid;
    ASSERT_TRUE(d.decode(&r, sizeof r, e));
    EXPECT_EQ(e.service, pid == 44u ? "batch" : "api");
    EXPECT_EQ(e.container_id, "");
    EXPECT_EQ(e.k8s_namespace, "");
    EXPECT_EQ(e.k8s_pod, "");
    EXPECT_EQ(e.k8s_container, "");
  }
}

// The kernel cuts a long route at the buffer's end without a NUL: the text stops there.
TEST(RecordDecoder, shouldStopAFullRouteBufferAtItsEnd) {
  profilis_req_record r;
  fill_header(r, PROFILIS_RECORD_REQ);
  std::memset(r.route, 'a', sizeof r.route);
  std::memset(r.method, 'M', sizeof r.method);
  Event e;
  ASSERT_TRUE(decoder().decode(&r, sizeof r, e));
  EXPECT_EQ(e.route, std::string(PROFILIS_ROUTE_MAX, 'a'));
  EXPECT_EQ(e.method, std::string(PROFILIS_METHOD_MAX, 'M'));
}

TEST(RecordDecoder, shouldDecodeAFunctionMarkerRecordWithItsError) {
  profilis_named_fn_record r;
  fill_header(r, PROFILIS_RECORD_NAMED_FN);
  std::strcpy(r.name, "load_user");
  r.error = 1;
  Event e;
  ASSERT_TRUE(decoder().decode(&r, sizeof r, e));
  EXPECT_EQ(e.kind, EventKind::kFn);
  EXPECT_EQ(e.fn, "load_user");
  EXPECT_TRUE(e.error);
}

// The kernel sent the address of a constant name in marker object 1, whose run shows the file
// from offset 0: the name is read from the file.
TEST(RecordDecoder, shouldReadAConstantMarkerNameFromItsObjectFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("record_decoder_test." + std::to_string(getpid())))
          .string();
  std::ofstream(path, std::ios::binary) << "xxxxrender_page" << '\0';
  MarkerStrings strings;
  const auto id = strings.add(path, {{.start = 0x5000, .end = 0x6000, .file_offset = 0}});
  std::filesystem::remove(path);  // the open file stays readable
  const RecordDecoder with_strings({}, no_processes(), kOffset, SqlTextMode::kRedacted, &strings);
  profilis_named_fn_record r;
  fill_header(r, PROFILIS_RECORD_NAMED_FN);
  r.name_object = id;
  r.name_addr = 0x5004;
  r.error = 1;
  // The kernel sends such a record without the name's text.
  const std::size_t size = offsetof(profilis_named_fn_record, name);
  Event e;
  ASSERT_TRUE(with_strings.decode(&r, size, e));
  EXPECT_EQ(e.kind, EventKind::kFn);
  EXPECT_EQ(e.fn, "render_page");
  EXPECT_TRUE(e.error);
  EXPECT_EQ(e.comm, "api");
  // An object the agent never registered, or no strings at all: undecodable, so counted.
  r.name_object = id + 1;
  EXPECT_FALSE(with_strings.decode(&r, size, e));
  r.name_object = id;
  EXPECT_FALSE(decoder().decode(&r, size, e));
  // A name carried in the record needs the whole record.
  r.name_object = 0;
  EXPECT_FALSE(with_strings.decode(&r, size, e));
}

// Marker object 1: an object file whose bytes `contents` are mapped at 0x5000 (file offset 0).
class MarkerObjectTest : public ::testing::Test {
 protected:
  void load(const std::string& contents) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("record_decoder_test." + std::to_string(getpid())))
                                 .string();
    std::ofstream(path, std::ios::binary) << contents;
    object_ = strings_.add(path, {{.start = 0x5000, .end = 0x6000, .file_offset = 0}});
    std::filesystem::remove(path);  // the open file stays readable
  }
  RecordDecoder with_strings(SqlTextMode mode = SqlTextMode::kRedacted,
                             std::uint32_t sql_max_bytes = 256) const {
    return RecordDecoder({}, no_processes(), kOffset, mode, &strings_, sql_max_bytes);
  }

  MarkerStrings strings_;
  std::uint32_t object_ = 0;
};

// A REQ marker's method and route that are constants of its object travel as addresses (the
// kernel may not be able to read their page): the agent reads them from the file.
TEST_F(MarkerObjectTest, shouldReadARequestsConstantStringsFromTheFile) {
  load(std::string("GET") + '\0' + "/users/{id}" + '\0');
  const RecordDecoder d = with_strings();
  profilis_req_record r;
  fill_header(r, PROFILIS_RECORD_REQ);
  r.status = 200;
  r.strings.object = object_;
  r.strings.by_address = PROFILIS_STR_METHOD | PROFILIS_STR_ROUTE;
  r.strings.addr[0] = 0x5000;
  r.strings.addr[1] = 0x5004;
  Event e;
  ASSERT_TRUE(d.decode(&r, sizeof r, e));
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.route, "/users/{id}");
  EXPECT_EQ(e.unreadable, 0);
  // One by address, the other as text the kernel read.
  r.strings.by_address = PROFILIS_STR_ROUTE;
  std::strcpy(r.method, "POST");
  ASSERT_TRUE(d.decode(&r, sizeof r, e));
  EXPECT_EQ(e.method, "POST");
  EXPECT_EQ(e.route, "/users/{id}");
  // An object the agent never registered: undecodable, so counted.
  r.strings.object = object_ + 1;
  EXPECT_FALSE(d.decode(&r, sizeof r, e));
  r.strings.object = object_;
  EXPECT_FALSE(decoder().decode(&r, sizeof r, e));
  for (const StringField field : kStringFields) EXPECT_EQ(d.unreadable_fields(field), 0u);
}

TEST_F(MarkerObjectTest, shouldReadADbMarkersConstantQueryFromTheFileAsTheKernelWouldHave) {
  const std::string sql = "SELECT name FROM users WHERE id = 42";  // 36 bytes
  load(std::string("postgresql") + '\0' + sql + '\0');
  profilis_db_record r;
  fill_header(r, PROFILIS_RECORD_DB);
  r.vendor = 0;
  r.rows = 1;
  r.strings.object = object_;
  r.strings.by_address = PROFILIS_STR_VENDOR | PROFILIS_STR_QUERY;
  r.strings.addr[0] = 0x5000;
  r.strings.addr[1] = 0x500b;
  Event e;
  ASSERT_TRUE(with_strings().decode(&r, sizeof r, e));
  EXPECT_EQ(e.db_vendor, "postgresql");
  EXPECT_EQ(e.query, "SELECT name FROM users WHERE id = ?");
  ASSERT_TRUE(with_strings(SqlTextMode::kRaw).decode(&r, sizeof r, e));
  EXPECT_EQ(e.query, sql);
  // --sql-max-bytes counts the NUL, as the kernel's read does: 37 holds it all, 20 holds 19 bytes.
  ASSERT_TRUE(with_strings(SqlTextMode::kRaw, 37).decode(&r, sizeof r, e));
  EXPECT_EQ(e.query, sql);
  ASSERT_TRUE(with_strings(SqlTextMode::kRaw, 20).decode(&r, sizeof r, e));
  EXPECT_EQ(e.query, sql.substr(0, 19) + "\u2026");
  ASSERT_TRUE(with_strings(SqlTextMode::kRedacted, 36).decode(&r, sizeof r, e));
  EXPECT_EQ(e.query, "SELECT name FROM users WHERE id = ?\u2026");  // "4" of "42" was read
  ASSERT_TRUE(with_strings(SqlTextMode::kOff).decode(&r, sizeof r, e));
  EXPECT_TRUE(e.query_omitted);
  EXPECT_EQ(e.db_vendor, "postgresql");
  r.strings.object = object_ + 1;
  EXPECT_FALSE(with_strings().decode(&r, sizeof r, e));
}

// A string the kernel could not read is empty, named in the event and counted; never its text.
TEST(RecordDecoder, shouldMarkAndCountStringsTheKernelCouldNotRead) {
  const RecordDecoder d = decoder();
  profilis_req_record req;
  fill_header(req, PROFILIS_RECORD_REQ);
  std::strcpy(req.method, "GET");
  std::strcpy(req.route, "stale");
  req.strings.unreadable = PROFILIS_STR_ROUTE;
  Event e;
  ASSERT_TRUE(d.decode(&req, sizeof req, e));
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.route, "");
  EXPECT_TRUE(e.is_unreadable(StringField::kRoute));
  EXPECT_FALSE(e.is_unreadable(StringField::kMethod));
  req.strings.unreadable = PROFILIS_STR_ROUTE | PROFILIS_STR_METHOD;
  ASSERT_TRUE(d.decode(&req, sizeof req, e));
  EXPECT_EQ(e.method, "");
  EXPECT_EQ(e.unreadable, static_cast<std::uint8_t>(StringField::kRoute) |
                              static_cast<std::uint8_t>(StringField::kMethod));

  profilis_named_fn_record fn;
  fill_header(fn, PROFILIS_RECORD_NAMED_FN);
  fn.unreadable = PROFILIS_STR_NAME;
  ASSERT_TRUE(d.decode(&fn, sizeof fn, e));
  EXPECT_EQ(e.fn, "");
  EXPECT_TRUE(e.is_unreadable(StringField::kFn));

  profilis_db_record db;
  fill_header(db, PROFILIS_RECORD_DB);
  db.strings.unreadable = PROFILIS_STR_QUERY | PROFILIS_STR_VENDOR;
  db.truncated = 1;
  ASSERT_TRUE(d.decode(&db, sizeof db, e));
  EXPECT_EQ(e.query, "");
  EXPECT_EQ(e.db_vendor, "");
  EXPECT_TRUE(e.is_unreadable(StringField::kQuery));
  EXPECT_TRUE(e.is_unreadable(StringField::kDbVendor));

  EXPECT_EQ(d.unreadable_fields(StringField::kRoute), 2u);
  EXPECT_EQ(d.unreadable_fields(StringField::kMethod), 1u);
  EXPECT_EQ(d.unreadable_fields(StringField::kFn), 1u);
  EXPECT_EQ(d.unreadable_fields(StringField::kQuery), 1u);
  EXPECT_EQ(d.unreadable_fields(StringField::kDbVendor), 1u);

  // The next event starts clean.
  req.strings.unreadable = 0;
  ASSERT_TRUE(d.decode(&req, sizeof req, e));
  EXPECT_EQ(e.unreadable, 0);
  EXPECT_EQ(e.route, "stale");

  // With --sql-text off there is no query to report unreadable.
  const RecordDecoder off = decoder(SqlTextMode::kOff);
  ASSERT_TRUE(off.decode(&db, sizeof db, e));
  EXPECT_FALSE(e.is_unreadable(StringField::kQuery));
  EXPECT_TRUE(e.is_unreadable(StringField::kDbVendor));
  EXPECT_EQ(off.unreadable_fields(StringField::kQuery), 0u);

  // Client-library records (vendor set) never carry marker bits: ignored there.
  db.vendor = PROFILIS_DB_SQLITE;
  ASSERT_TRUE(off.decode(&db, sizeof db, e));
  EXPECT_EQ(e.unreadable, 0);
}

TEST(RecordDecoder, shouldNameADbMarkerRecordByTheVendorTheProgramGave) {
  profilis_db_record r;
  fill_header(r, PROFILIS_RECORD_DB);
  r.vendor = 0;
  std::strcpy(r.vendor_name, "redis");
  r.rows = 3;
  const char sql[] = "SELECT * FROM t WHERE id = 42";
  std::memcpy(r.query, sql, sizeof sql - 1);
  r.query_len = sizeof sql - 1;
  Event e;
  ASSERT_TRUE(decoder().decode(&r, sizeof r, e));
  EXPECT_EQ(e.kind, EventKind::kDb);
  EXPECT_EQ(e.db_vendor, "redis");
  EXPECT_EQ(e.query, "SELECT * FROM t WHERE id = ?");
  EXPECT_EQ(e.rows, 3);
  r.vendor = PROFILIS_DB_SQLITE;
  ASSERT_TRUE(decoder().decode(&r, sizeof r, e));
  EXPECT_EQ(e.db_vendor, "sqlite");
}

TEST(RecordDecoder, shouldNameEachClientLibrarysVendorByItsOwnValue) {
  profilis_db_record r;
  fill_header(r, PROFILIS_RECORD_DB);
  const std::pair<std::uint16_t, const char*> vendors[] = {
      {PROFILIS_DB_SQLITE, "sqlite"},
      {PROFILIS_DB_MYSQL, "mysql"},
      {PROFILIS_DB_POSTGRESQL, "postgresql"},
  };
  for (const auto& [vendor, name] : vendors) {
    r.vendor = vendor;
    Event e;
    ASSERT_TRUE(decoder().decode(&r, sizeof r, e)) << name;
    EXPECT_EQ(e.db_vendor, name);
  }
}

TEST(RecordDecoder, shouldDecodeADbRecordThatEndsWithItsQuerysText) {
  profilis_db_record r;
  fill_header(r, PROFILIS_RECORD_DB);
  r.vendor = PROFILIS_DB_POSTGRESQL;
  const char sql[] = "SELECT 1";
  std::memcpy(r.query, sql, sizeof sql - 1);
  r.query_len = sizeof sql - 1;
  const std::size_t size = offsetof(profilis_db_record, query) + r.query_len;
  Event e;
  ASSERT_TRUE(decoder(SqlTextMode::kRaw).decode(&r, size, e));
  EXPECT_EQ(e.query, "SELECT 1");
  EXPECT_EQ(e.db_vendor, "postgresql");
  EXPECT_FALSE(decoder().decode(&r, size - 1, e)) << "a record cut inside its text";
  r.query_len = 0;
  ASSERT_TRUE(decoder().decode(&r, offsetof(profilis_db_record, query), e));
  EXPECT_EQ(e.query, "");
}

// SQLite reads the length it was given (256 bytes), libpq a C string (255 and the NUL): one limit
// for both, and a cut never inside a character.
TEST(RecordDecoder, shouldCutEveryVendorsTextAtOneLimitOnACharacterBoundary) {
  for (const std::uint16_t vendor : {PROFILIS_DB_SQLITE, PROFILIS_DB_POSTGRESQL}) {
    profilis_db_record r;
    fill_header(r, PROFILIS_RECORD_DB);
    r.vendor = vendor;
    std::string sql = "SELECT '" + std::string(244, 'x');
    while (sql.size() < 256) sql += "\xC3\xA9";  // é, which the limit cuts in two
    sql.resize(256);
    std::memcpy(r.query, sql.data(), sql.size());
    r.query_len = vendor == PROFILIS_DB_SQLITE ? 256 : 255;
    r.truncated = vendor == PROFILIS_DB_POSTGRESQL;
    Event e;
    ASSERT_TRUE(
        RecordDecoder({}, no_processes(), kOffset, SqlTextMode::kRaw).decode(&r, sizeof r, e));
    const std::string ellipsis = "\u2026";
    ASSERT_GE(e.query.size(), ellipsis.size());
    const std::string text = e.query.substr(0, e.query.size() - ellipsis.size());
    EXPECT_EQ(e.query.substr(text.size()), ellipsis) << vendor;
    EXPECT_LE(text.size(), 255u) << vendor;
    EXPECT_GE(text.size(), 254u) << vendor;
    EXPECT_TRUE(is_valid_utf8(text)) << vendor << ": " << text;
  }
}

TEST(RecordDecoder, shouldNameAUsdtPointByItsCookie) {
  profilis_fn_record r;
  fill_header(r, PROFILIS_RECORD_FN);
  r.header.dur_ns = 0;
  r.fn_id = 1;
  Event e;
  ASSERT_TRUE(decoder().decode(&r, sizeof r, e));
  EXPECT_EQ(e.fn, "libstdcxx:throw");
  EXPECT_EQ(e.dur_ns, 0u);
  r.fn_id = 2;  // no such probe
  EXPECT_FALSE(decoder().decode(&r, sizeof r, e));
}

TEST(RecordDecoder, shouldRejectShortAndUnknownRecords) {
  profilis_req_record r;
  fill_header(r, PROFILIS_RECORD_REQ);
  Event e;
  EXPECT_FALSE(decoder().decode(&r, sizeof r - 1, e));
  r.header.kind = 99;
  EXPECT_FALSE(decoder().decode(&r, sizeof r, e));
  profilis_db_record db;
  fill_header(db, PROFILIS_RECORD_DB);
  for (const std::uint16_t unknown : {4, 99, 0xffff}) {  // no client library the agent knows
    db.vendor = unknown;
    EXPECT_FALSE(decoder().decode(&db, sizeof db, e)) << unknown;
  }
  EXPECT_FALSE(decoder().decode(&db, sizeof(profilis_record_header) - 1, e)) << "no whole header";
}

}  // namespace
}  // namespace profilis
