#include "agent/pipeline/sql_normalize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace profilis {
namespace {

struct Case {
  const char* name;
  std::string_view input;
  std::string_view expected;
};

// Normalizes from an exactly sized heap buffer, so that ASan reports any read past the input.
std::string normalize_exact(std::string_view sql) {
  const auto buffer = std::make_unique<char[]>(sql.size() + (sql.empty() ? 1 : 0));
  std::copy(sql.begin(), sql.end(), buffer.get());
  return normalize_sql(std::string_view(buffer.get(), sql.size()));
}

constexpr Case kCases[] = {
    // String literals.
    {"shouldReplaceSingleQuotedString", "SELECT * FROM users WHERE name = 'alice'",
     "SELECT * FROM users WHERE name = ?"},
    {"shouldReplaceStringWithDoubledQuote", "WHERE a = 'it''s' AND b = 1", "WHERE a = ? AND b = ?"},
    {"shouldReplaceStringWithBackslashEscapedQuote", R"(WHERE a = 'it\'s' AND b = 'x')",
     "WHERE a = ? AND b = ?"},
    {"shouldReplaceStringEndingInEscapedBackslash", R"(WHERE a = 'C:\\' AND b = 2)",
     "WHERE a = ? AND b = ?"},
    {"shouldReplaceEscapeString", R"(SELECT E'line\nnext\'q', 1)", "SELECT ?, ?"},
    {"shouldReplaceLowercaseEscapeString", R"(SELECT e'\x41' || 'b')", "SELECT ? || ?"},
    {"shouldReplaceNationalHexAndBitStrings", "VALUES (N'\xc3\xbc', X'1F', b'101', x'ff')",
     "VALUES (?, ?, ?, ?)"},
    {"shouldReplaceUnicodeEscapeString", R"(SELECT U&'d\0061t' AS u)", "SELECT ? AS u"},
    {"shouldReplaceMysqlCharsetIntroducer", "SELECT _utf8mb4'abc' AS x", "SELECT ? AS x"},
    {"shouldNotSeeCommentsInsideStrings", "SELECT '-- no', '/* nor */' FROM t",
     "SELECT ?, ? FROM t"},
    // Dollar quoting.
    {"shouldReplaceDollarQuotedString", "SELECT $$it's $1$$", "SELECT ?"},
    {"shouldReplaceTaggedDollarQuotedString", "DO $body$ BEGIN RAISE NOTICE '$$'; END $body$;",
     "DO ?;"},
    {"shouldCloseDollarQuoteOnlyOnItsOwnTag", "SELECT $a$ x $b$ y $a$, 1", "SELECT ?, ?"},
    // Numbers.
    {"shouldReplaceIntegers", "SELECT * FROM users WHERE id = 42 LIMIT 10 OFFSET 20",
     "SELECT * FROM users WHERE id = ? LIMIT ? OFFSET ?"},
    {"shouldReplaceDecimals", "WHERE price > 19.99 AND r < .5 AND q = 1.",
     "WHERE price > ? AND r < ? AND q = ?"},
    {"shouldReplaceFloatsWithExponents", "SELECT 6.02e23, 1E-9, 2.5e+3", "SELECT ?, ?, ?"},
    {"shouldReplaceHexNumbers", "WHERE flags & 0x1F = 0XFF", "WHERE flags & ? = ?"},
    {"shouldReplaceNumbersWithUnderscores", "SELECT 1_000_000, 0b1010, 0o17", "SELECT ?, ?, ?"},
    {"shouldFoldMinusSignAfterOperator", "WHERE a = -1 AND b >-2.5 AND c = -.5",
     "WHERE a = ? AND b >? AND c = ?"},
    {"shouldFoldMinusSignAfterKeywordOrParenthesis", "SELECT -1, (-2), f(x, -3) WHERE -4 < a",
     "SELECT ?, (?), f(x, ?) WHERE ? < a"},
    {"shouldKeepBinaryMinusAfterOperand", "SELECT a-1, a - 1, (b)-2, 3-4, a -5",
     "SELECT a-?, a - ?, (b)-?, ?-?, a -?"},
    {"shouldKeepMinusSeparatedFromItsDigits", "WHERE a = - 1", "WHERE a = - ?"},
    // Identifiers.
    {"shouldKeepIdentifiersContainingDigits",
     "SELECT t1.col_2, x3y FROM t1 JOIN t2 ON t1.id = t2.id",
     "SELECT t1.col_2, x3y FROM t1 JOIN t2 ON t1.id = t2.id"},
    {"shouldKeepQuotedIdentifiersThatLookLikeNumbers", R"(SELECT "123", "a""1" FROM "2024")",
     R"(SELECT "123", "a""1" FROM "2024")"},
    {"shouldKeepMysqlBackquotedIdentifiers", "SELECT `a1`, `12` FROM `db`.`t``2` WHERE `x` = 5",
     "SELECT `a1`, `12` FROM `db`.`t``2` WHERE `x` = ?"},
    {"shouldKeepIdentifiersStartingWithDigits", "SELECT * FROM db.1tbl WHERE 2col = 3",
     "SELECT * FROM db.1tbl WHERE 2col = ?"},
    {"shouldKeepKeywordAndIdentifierCase", "sElEcT Name FROM Users where ID = 7",
     "sElEcT Name FROM Users where ID = ?"},
    {"shouldKeepDollarSignsInsideIdentifiers", "SELECT a$1, b$$ FROM t", "SELECT a$1, b$$ FROM t"},
    {"shouldKeepNonAsciiIdentifiers", "SELECT pr\xc3\xa9nom2 FROM t",
     "SELECT pr\xc3\xa9nom2 FROM t"},
    // Booleans and NULL.
    {"shouldReplaceBooleansInAnyCase", "WHERE a = TRUE AND b = false OR c = True",
     "WHERE a = ? AND b = ? OR c = ?"},
    {"shouldKeepWordsContainingTrueOrFalse", R"(SELECT is_true, falsey, "true" FROM trueness)",
     R"(SELECT is_true, falsey, "true" FROM trueness)"},
    {"shouldKeepNull", "WHERE a IS NULL AND b IS NOT NULL", "WHERE a IS NULL AND b IS NOT NULL"},
    // Placeholders.
    {"shouldKeepPostgresPlaceholders", "SELECT * FROM t WHERE a = $1 AND b = $12",
     "SELECT * FROM t WHERE a = $1 AND b = $12"},
    {"shouldKeepQuestionMarkPlaceholders", "INSERT INTO t VALUES (?, ?2, ?)",
     "INSERT INTO t VALUES (?, ?2, ?)"},
    {"shouldKeepNamedAndFormatPlaceholders", "WHERE a = :name AND b = @id AND c = %s AND d = %(k)s",
     "WHERE a = :name AND b = @id AND c = %s AND d = %(k)s"},
    {"shouldKeepCastsAndReplaceCastLiterals", "SELECT a::int, '1'::text", "SELECT a::int, ?::text"},
    // IN lists.
    {"shouldCollapseInListToOnePlaceholder", "SELECT * FROM t WHERE id IN (1, 2, 3)",
     "SELECT * FROM t WHERE id IN (?)"},
    {"shouldCollapseInListWithAnyCaseAndWhitespace", "where id in(1,2 ,\n 3 ) and x = 1",
     "where id in (?) and x = ?"},
    {"shouldCollapseInListOfMixedLiterals", "WHERE a NOT IN ('x', 'y''z', -4, 1.5e3, TRUE, 0x1)",
     "WHERE a NOT IN (?)"},
    {"shouldCollapseSingleItemInList", "WHERE a IN ( 7 )", "WHERE a IN (?)"},
    {"shouldCollapseInListOfQuestionMarks", "WHERE a IN (?, ?, ?)", "WHERE a IN (?)"},
    {"shouldCollapseInListAcrossComments", "WHERE a IN /* ids */ (1, /* two */ 2)",
     "WHERE a IN (?)"},
    {"shouldKeepInListWithColumnsOrSubquery", "WHERE a IN (b, 1) AND c IN (SELECT id FROM t)",
     "WHERE a IN (b, ?) AND c IN (SELECT id FROM t)"},
    {"shouldKeepInListOfNumberedPlaceholders", "WHERE a IN ($1, $2)", "WHERE a IN ($1, $2)"},
    // Comments.
    {"shouldDropLineComments", "SELECT a -- the a column\nFROM t -- trailing 42",
     "SELECT a FROM t"},
    {"shouldDropBlockComments", "/* app:api, id 7 */ SELECT a FROM t", "SELECT a FROM t"},
    {"shouldDropNestedBlockComments", "SELECT /* outer /* inner */ still 1 */ 1", "SELECT ?"},
    {"shouldTreatCommentAsWhitespace", "SELECT/**/a/*x*/FROM t", "SELECT a FROM t"},
    // Whitespace.
    {"shouldCollapseWhitespaceRuns", "\n\t SELECT  a,\r\n\tb   FROM t \n", "SELECT a, b FROM t"},
    {"shouldYieldEmptyTextForEmptyInput", "", ""},
    {"shouldYieldEmptyTextForBlankInput", " \t\r\n ", ""},
    {"shouldYieldEmptyTextForCommentOnlyInput", "  -- nothing here", ""},
    // Truncated input.
    {"shouldReplaceUnterminatedString", "SELECT * FROM t WHERE name = 'ali",
     "SELECT * FROM t WHERE name = ?"},
    {"shouldReplaceStringTruncatedAfterBackslash", R"(WHERE a = 'abc\)", "WHERE a = ?"},
    {"shouldReplaceStringTruncatedAfterDoubledQuote", "WHERE a = 'abc''", "WHERE a = ?"},
    {"shouldReplaceEscapeStringTruncatedAtItsQuote", "SELECT E'", "SELECT ?"},
    {"shouldReplaceUnterminatedDollarQuote", "SELECT $f$ body $f", "SELECT ?"},
    {"shouldDropUnterminatedBlockComment", "SELECT a /* cut /* deeper */", "SELECT a"},
    {"shouldKeepUnterminatedQuotedIdentifier", "SELECT \"col umn  ", "SELECT \"col umn"},
    {"shouldCollapseTruncatedInList", "WHERE id IN (1, 2, 3, 4", "WHERE id IN (?"},
    {"shouldCollapseInListTruncatedAfterComma", "WHERE id IN (1, 2, ", "WHERE id IN (?"},
    {"shouldReplaceTruncatedNumber", "WHERE a = 1.", "WHERE a = ?"},
    {"shouldReplaceNumberTruncatedInItsExponent", "SELECT 1.5e-", "SELECT ?"},
    {"shouldReplaceHexNumberTruncatedAfterItsPrefix", "WHERE a = 0x", "WHERE a = ?"},
    {"shouldKeepTruncatedOperator", "WHERE a = -", "WHERE a = -"},
};

class SqlNormalizeTable : public ::testing::TestWithParam<Case> {};

TEST_P(SqlNormalizeTable, yieldsExpectedText) {
  const Case& c = GetParam();
  EXPECT_EQ(normalize_exact(c.input), c.expected) << "input: " << c.input;
}

TEST_P(SqlNormalizeTable, isIdempotent) {
  const Case& c = GetParam();
  EXPECT_EQ(normalize_exact(c.expected), c.expected);
  const std::string once = normalize_exact(c.input);
  EXPECT_EQ(normalize_exact(once), once);
}

// Every prefix of every case, as the kernel's bounded copy would cut it: no read past the end
// (ASan), and the result is a fixed point.
TEST_P(SqlNormalizeTable, shouldHandleEveryTruncationOfTheInput) {
  const Case& c = GetParam();
  for (std::size_t len = 0; len <= c.input.size(); ++len) {
    const std::string once = normalize_exact(c.input.substr(0, len));
    EXPECT_EQ(normalize_exact(once), once) << "prefix: " << c.input.substr(0, len);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SqlNormalizeTable, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(SqlNormalize, shouldHaveAtLeastFortyTableCases) { EXPECT_GE(std::size(kCases), 40u); }

TEST(SqlNormalize, shouldYieldTheSameTextForTheSameShape) {
  const std::string a = normalize_sql(
      "SELECT * FROM orders WHERE user_id = 17 AND status = 'paid' AND total > 10.5 AND id IN (1, "
      "2)"
      " -- page 1");
  const std::string b = normalize_sql(
      "SELECT *  FROM orders\nWHERE user_id = -3 AND status = 'it''s' AND total > 1e3 AND id IN "
      "(9) /* retry */");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, "SELECT * FROM orders WHERE user_id = ? AND status = ? AND total > ? AND id IN (?)");
}

// The issue's three spellings of one shape, and spacing inside parentheses and before `;`.
TEST(SqlNormalize, shouldGiveOneTextHoweverPunctuationAndCommentsAreSpaced) {
  EXPECT_EQ(normalize_sql("SELECT 'ok', 1"), "SELECT ?, ?");
  EXPECT_EQ(normalize_sql("SELECT 'ok' /* c */, 1"), "SELECT ?, ?");
  EXPECT_EQ(normalize_sql("SELECT  'ok' ,1"), "SELECT ?, ?");
  EXPECT_EQ(normalize_sql("SELECT count( * ) FROM t ;"), normalize_sql("SELECT count(*) FROM t;"));
  EXPECT_EQ(normalize_sql("SELECT count(*) FROM t;"), "SELECT count(*) FROM t;");
  EXPECT_EQ(normalize_sql("INSERT INTO t ( a ,b ) VALUES ( 1,-- x\n 2 )"),
            "INSERT INTO t (a, b) VALUES (?, ?)");
}

TEST(SqlNormalize, shouldBeDeterministicAndOverwriteTheOutput) {
  const std::string_view sql = "UPDATE t SET a = 'x', b = 2 WHERE c IN (3, 4)";
  std::string out = "leftover text that is longer than the result will be, by a good margin";
  normalize_sql(sql, out);
  EXPECT_EQ(out, "UPDATE t SET a = ?, b = ? WHERE c IN (?)");
  for (int i = 0; i < 3; ++i) {
    std::string again = "x";
    normalize_sql(sql, again);
    EXPECT_EQ(again, out);
  }
}

TEST(SqlNormalize, shouldReuseTheOutputCapacity) {
  std::string out;
  out.reserve(1024);
  const char* data = out.data();
  for (int i = 0; i < 10; ++i) {
    normalize_sql("SELECT a, b FROM t WHERE id = 42 AND name = 'bob'", out);
    EXPECT_EQ(out.data(), data);
  }
  EXPECT_EQ(out, "SELECT a, b FROM t WHERE id = ? AND name = ?");
}

TEST(SqlNormalize, shouldKeepNulBytesAndNeverStopAtThem) {
  using namespace std::string_view_literals;
  EXPECT_EQ(normalize_exact("SELECT 1\0 'a\0b' x"sv), "SELECT ?\0 ? x"sv);
}

// Random byte strings, biased towards the bytes the normalizer cares about, including NUL and
// bytes >= 0x80. Invariants: nothing crashes or reads past the end, the result is trimmed, never
// longer than the bound the implementation promises, and a fixed point.
TEST(SqlNormalize, shouldSurviveRandomBytes) {
  std::mt19937 rng(20240611);
  using namespace std::string_view_literals;
  const std::string_view interesting = "'\"`$-/*().,?:eExXbBnNuU&_0123456789 \n\t\\\0\x80\xff"sv;
  std::uniform_int_distribution<int> length(0, 300);
  std::uniform_int_distribution<int> pick(0, 3);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> special(0, interesting.size() - 1);
  std::string out;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string sql(static_cast<std::size_t>(length(rng)), '\0');
    for (char& c : sql) {
      c = pick(rng) == 0 ? static_cast<char>(byte(rng)) : interesting[special(rng)];
    }
    const std::string once = normalize_exact(sql);
    ASSERT_LE(once.size(), sql.size() + sql.size() / 2 + 1);
    if (!once.empty()) {
      ASSERT_NE(once.front(), ' ');
      ASSERT_NE(once.back(), ' ');
    }
    ASSERT_EQ(normalize_exact(once), once) << "input bytes: " << ::testing::PrintToString(sql);
    normalize_sql(sql, out);
    ASSERT_EQ(out, once);
  }
}

// Random queries assembled from tokens whose normalized form is known, separated by random
// whitespace and comments. No identifier has a digit, so no digit may survive: every digit came
// from a literal or a comment.
TEST(SqlNormalize, shouldNormalizeRandomQueriesTokenByToken) {
  struct Token {
    std::string_view in;
    std::string_view out;
  };
  static constexpr Token kTokens[] = {{"SELECT", "SELECT"},
                                      {"users", "users"},
                                      {"Name", "Name"},
                                      {"=", "="},
                                      {"(", "("},
                                      {")", ")"},
                                      {",", ","},
                                      {"*", "*"},
                                      {"<=", "<="},
                                      {"t.id", "t.id"},
                                      {"\"9\"", "\"9\""},
                                      {"42", "?"},
                                      {"= -7", "= ?"},
                                      {"3.25e-4", "?"},
                                      {"0xBEEF", "?"},
                                      {"'a''1\\'2'", "?"},
                                      {"E'\\n9'", "?"},
                                      {"$$ 5 $$", "?"},
                                      {"$q$1$q$", "?"},
                                      {"TRUE", "?"},
                                      {"false", "?"},
                                      {"N'x7'", "?"},
                                      {"?", "?"},
                                      {":nm", ":nm"},
                                      {"IN (1, 'b', 2)", "IN (?)"}};
  static constexpr std::string_view kSeparators[] = {
      " ", "  ", "\n", "\t \r\n", " /* 1 /* 2 */ */ ", " -- 3 4\n"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> token(0, std::size(kTokens) - 1);
  std::uniform_int_distribution<std::size_t> separator(0, std::size(kSeparators) - 1);
  std::uniform_int_distribution<int> count(1, 30);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string sql(kSeparators[separator(rng)]);
    std::string expected;
    const int n = count(rng);
    for (int k = 0; k < n; ++k) {
      const Token& t = kTokens[token(rng)];
      sql += t.in;
      sql += kSeparators[separator(rng)];
      // One space between tokens, but none before `,` `)` and none after `(`.
      const bool tight =
          !expected.empty() && (t.out == "," || t.out == ")" || expected.back() == '(');
      if (!expected.empty() && !tight) expected += ' ';
      expected += t.out;
    }
    const std::string got = normalize_exact(sql);
    ASSERT_EQ(got, expected) << "input: " << sql;
    ASSERT_EQ(std::count_if(got.begin(), got.end(), [](char c) { return c >= '0' && c <= '9'; }),
              std::count(got.begin(), got.end(), '9'))
        << "only the quoted identifier \"9\" may keep a digit: " << got;
  }
}

}  // namespace
}  // namespace profilis
