#include "exporters/console/summary_table.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace profilis {
namespace {

Event fn(const std::string& name, std::uint64_t dur_ns, bool error = false) {
  Event e;
  e.kind = EventKind::kFn;
  e.fn = name;
  e.dur_ns = dur_ns;
  e.error = error;
  return e;
}

Event db(const std::string& query, std::uint64_t dur_ns) {
  Event e;
  e.kind = EventKind::kDb;
  e.query = query;
  e.db_vendor = "postgresql";
  e.dur_ns = dur_ns;
  return e;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LatencyHistogram, shouldGiveQuantilesWithinAnEighthOfTheValue) {
  LatencyHistogram h;
  for (std::uint64_t i = 1; i <= 1000; ++i) h.add(i * 1000);  // 1 µs ... 1 ms
  for (const double q : {0.5, 0.95, 0.99}) {
    const double exact = q * 1e6;
    const auto got = static_cast<double>(h.quantile(q));
    EXPECT_GE(got, exact * 0.99) << q;
    EXPECT_LE(got, exact * 1.13) << q;
  }
  EXPECT_EQ(LatencyHistogram().quantile(0.99), 0u);
}

TEST(LatencyHistogram, shouldPutEachDurationInItsPowerOfTwoOfMicroseconds) {
  LatencyHistogram h;
  h.add(500);        // < 1 µs
  h.add(3'000);      // [2, 4) µs
  h.add(1'500'000);  // [1024, 2048) µs
  const auto rows = h.power_of_two_us();
  EXPECT_EQ(rows[0], 1u);
  EXPECT_EQ(rows[2], 1u);
  EXPECT_EQ(rows[11], 1u);
}

TEST(SummaryTable, shouldRankByTotalTimeWithCountsPercentilesAndErrors) {
  SummaryTable table;
  for (int i = 0; i < 10; ++i) table.add(fn("fast", 1'000));
  for (int i = 0; i < 3; ++i) table.add(fn("slow", 2'000'000, i == 0));
  const std::string text = table.render({.width = 120, .color = false}, "summary");
  const auto out = lines(text);
  ASSERT_GE(out.size(), 4u) << text;
  EXPECT_EQ(out[0], "summary");
  EXPECT_NE(out[1].find("functions by total time"), std::string::npos) << text;
  EXPECT_EQ(out[2].rfind("slow ", 0), 0u) << text;  // 6 ms in total before 10 µs
  EXPECT_NE(out[2].find(" 3 "), std::string::npos) << text;
  EXPECT_NE(out[2].find("6ms"), std::string::npos) << text;
  EXPECT_EQ(out[2].substr(out[2].find_last_not_of(' ')), "1") << text;  // one error
  EXPECT_EQ(out[3].rfind("fast ", 0), 0u) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << "colour where it was not asked for";
  for (const auto& line : out) EXPECT_LE(line.size(), 120u) << line;
}

TEST(SummaryTable, shouldKeyQueriesByTheirTextAndFitLongOnesToTheWidth) {
  SummaryTable table;
  const std::string shape = "SELECT ?, ? FROM a_table_with_a_long_name WHERE id = ? AND x IN (?)";
  table.add(db(shape, 1'000'000));
  table.add(db(shape, 3'000'000));
  const std::string text = table.render({.width = 100, .color = true}, "t");
  EXPECT_NE(text.find("\033[1m"), std::string::npos);
  EXPECT_NE(text.find("queries by total time"), std::string::npos) << text;
  bool found = false;
  for (const auto& line : lines(text)) {
    if (line.rfind("SELECT ?, ?", 0) == 0 && line.find("...") != std::string::npos) {
      found = true;
      EXPECT_NE(line.find(" 2 "), std::string::npos) << line;
      EXPECT_LE(line.size(), 100u) << line;
    }
  }
  EXPECT_TRUE(found) << text;
  EXPECT_NE(text.find("usecs"), std::string::npos) << "no distribution drawn:\n" << text;
  EXPECT_NE(text.find("1024 -> 2047"), std::string::npos) << text;
}

}  // namespace
}  // namespace profilis
