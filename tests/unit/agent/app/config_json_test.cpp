#include "agent/app/config_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "agent/common/errors.h"

namespace profilis {
namespace {

std::string error_of(std::string_view text) {
  try {
    read_json_object(text, "c.json");
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError for " << text;
  return {};
}

TEST(ReadJsonObject, shouldKeepEachMemberInFileOrder) {
  const auto entries = read_json_object(
      R"({"b": "x", "a": 42, "c": [1, -2, 1.5], "d": true, "e": null, "f": {"g": 1}})", "c.json");
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].key, "b");
  EXPECT_FALSE(entries[0].array);
  ASSERT_EQ(entries[0].items.size(), 1u);
  EXPECT_EQ(entries[0].items[0].kind, JsonKind::kString);
  EXPECT_EQ(entries[0].items[0].text, "x");
  EXPECT_EQ(entries[1].key, "a");
  EXPECT_EQ(entries[1].items[0].text, "42");
  EXPECT_TRUE(entries[2].array);
  ASSERT_EQ(entries[2].items.size(), 3u);
  EXPECT_EQ(entries[2].items[1].text, "-2");
  EXPECT_EQ(entries[2].items[2].text, "1.5");
  EXPECT_EQ(entries[3].items[0].kind, JsonKind::kBool);
  EXPECT_EQ(entries[3].items[0].text, "true");
  EXPECT_EQ(entries[4].items[0].kind, JsonKind::kNull);
  ASSERT_EQ(entries[5].items.size(), 1u) << "an object's members are not entries";
  EXPECT_EQ(entries[5].items[0].kind, JsonKind::kObject);
}

// Numbers reach the option parsers as written, so a flag and the file are judged alike: a number
// too large for 64 bits is not rounded to a double, nor is an exponent expanded.
TEST(ReadJsonObject, shouldKeepNumbersAsWritten) {
  const auto entries = read_json_object(
      R"({"a": 99999999999999999999999, "b": 18446744073709551615, "c": -9223372036854775808,
          "d": 1e3, "e": 1.50, "f": -0})",
      "c.json");
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].items[0].text, "99999999999999999999999");
  EXPECT_EQ(entries[1].items[0].text, "18446744073709551615");
  EXPECT_EQ(entries[2].items[0].text, "-9223372036854775808");
  EXPECT_EQ(entries[3].items[0].text, "1e3");
  EXPECT_EQ(entries[4].items[0].text, "1.50");
  for (const auto& entry : entries) EXPECT_EQ(entry.items[0].kind, JsonKind::kNumber);
}

TEST(ReadJsonObject, shouldRecordContainersInsideAnArrayWithoutTheirContent) {
  const auto entries = read_json_object(R"({"a": [1, [2, [3]], {"x": [4]}, "s"], "b": 5})", "c");
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_EQ(entries[0].items.size(), 4u);
  EXPECT_EQ(entries[0].items[1].kind, JsonKind::kArray);
  EXPECT_EQ(entries[0].items[2].kind, JsonKind::kObject);
  EXPECT_EQ(entries[0].items[3].text, "s");
  EXPECT_EQ(entries[1].items[0].text, "5");
}

TEST(ReadJsonObject, shouldAcceptAnEmptyObject) {
  EXPECT_TRUE(read_json_object("{}", "c.json").empty());
  EXPECT_TRUE(read_json_object(" \n{ }\n", "c.json").empty());
}

TEST(ReadJsonObject, shouldRefuseATopLevelThatIsNoObject) {
  for (const char* text : {"[1]", "42", "\"pid\"", "null", "true"}) {
    SCOPED_TRACE(text);
    const std::string message = error_of(text);
    EXPECT_NE(message.find("c.json: expected a JSON object"), std::string::npos) << message;
  }
}

TEST(ReadJsonObject, shouldRefuseAKeyGivenTwice) {
  const std::string message = error_of(R"({"pid": 1, "fn": "x", "pid": 2})");
  EXPECT_NE(message.find("c.json: key \"pid\" is given twice"), std::string::npos) << message;
  EXPECT_NO_THROW(read_json_object(R"({"a": {"k": 1}, "b": {"k": 2}})", "c.json"));
}

TEST(ReadJsonObject, shouldQuoteKeysSoThatAMessageStaysOneLine) {
  EXPECT_EQ(json_quoted("jsonl-dir"), "\"jsonl-dir\"");
  EXPECT_EQ(json_quoted("a\nb\"c"), "\"a\\nb\\\"c\"");
  const std::string message = error_of("{\"a\\nb\": 1, \"a\\nb\": 2}");
  EXPECT_EQ(message, "c.json: key \"a\\nb\" is given twice");
}

TEST(ReadJsonObject, shouldRefuseNulCharacters) {
  EXPECT_NE(error_of(R"({"jsonl-dir": "/tmp/a\u0000b"})").find("NUL"), std::string::npos);
  EXPECT_NE(error_of(R"({"a\u0000": 1})").find("NUL"), std::string::npos);
}

TEST(ReadJsonObject, shouldNameTheLineAndColumnOfASyntaxError) {
  const std::string message = error_of("{\n  \"pid\": [42],\n  \"fn\": [\"api::*\"\n  \"x\": 1}");
  EXPECT_NE(message.find("c.json:4:5: not valid JSON: syntax error while parsing array"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
}

// The location is computed from the parser's position; nlohmann's own message says where it
// stopped too, and the two must agree, the end of the text and newlines included.
TEST(ReadJsonObject, shouldPlaceSyntaxErrorsWhereNlohmannDoes) {
  for (const char* text :
       {"", "{", "{\n", "{\"a\":\n\n  tru }", "{\"a\": \"x\ny\"}", "{\"a\": 1}\n\n x", "{\"a\" 1}",
        "{\"a\": 1,}", "\xef\xbb\xbf{\"a\": 01}", "{\"a\": \"\xff\"}", "{\"a\": [1, 2}",
        "{\"a\": 1} // comment", "\n\n\n   {\"a\"\n:\n-}"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(text)));
    std::string expected;
    try {
      FAIL() << "nlohmann parsed it: " << nlohmann::json::parse(text).dump();
    } catch (const nlohmann::json::parse_error& e) {
      std::smatch where;
      const std::string what = e.what();
      ASSERT_TRUE(std::regex_search(what, where, std::regex("line (\\d+), column (\\d+)"))) << what;
      expected = "c.json:" + where[1].str() + ":" + where[2].str() + ": not valid JSON: ";
    }
    const std::string message = error_of(text);
    EXPECT_EQ(message.rfind(expected, 0), 0u) << message << "\nexpected to start with " << expected;
  }
}

}  // namespace
}  // namespace profilis
