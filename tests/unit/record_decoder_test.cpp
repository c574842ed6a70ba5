#include "agent/record_decoder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "profilis_records.h"

namespace profilis {
namespace {

constexpr std::int64_t kOffset = 1'000'000'000;

RecordDecoder decoder(SqlTextMode mode = SqlTextMode::kRedacted) {
  return RecordDecoder({"fx_sleep_ms", "libstdcxx:throw"}, {{42, "api"}}, kOffset, mode);
}

template <typename Record>
void fill_header(Record& r, std::uint32_t kind) {
  std::memset(&r, 0, sizeof r);
  r.kind = kind;
  r.pid = 42;
  r.tid = 43;
  r.start_ns = 100;
  r.dur_ns = 250;
  std::strcpy(r.comm, "api");
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
  const RecordDecoder with_strings({}, {}, kOffset, SqlTextMode::kRedacted, &strings);
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

TEST(RecordDecoder, shouldNameAUsdtPointByItsCookie) {
  profilis_fn_record r;
  fill_header(r, PROFILIS_RECORD_FN);
  r.dur_ns = 0;
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
  r.kind = 99;
  EXPECT_FALSE(decoder().decode(&r, sizeof r, e));
  profilis_db_record db;
  fill_header(db, PROFILIS_RECORD_DB);
  db.vendor = PROFILIS_DB_SQLITE + 1;
  EXPECT_FALSE(decoder().decode(&db, sizeof db, e));
}

}  // namespace
}  // namespace profilis
