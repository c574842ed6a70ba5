#include "agent/common/glob.h"

#include <gtest/gtest.h>

namespace profilis {
namespace {

TEST(GlobMatch, shouldMatchLiteralTextExactly) {
  EXPECT_TRUE(glob_match("fixture_add", "fixture_add"));
  EXPECT_FALSE(glob_match("fixture_add", "fixture_adder"));
  EXPECT_FALSE(glob_match("fixture_add", "my_fixture_add"));
}

TEST(GlobMatch, shouldMatchStarAgainstAnyRunIncludingEmpty) {
  EXPECT_TRUE(glob_match("fixture_*", "fixture_"));
  EXPECT_TRUE(glob_match("fixture_*", "fixture_add"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*_add", "fixture_add"));
  EXPECT_TRUE(glob_match("f*x*e", "fixture"));
}

TEST(GlobMatch, shouldMatchQuestionMarkAsOneByte) {
  EXPECT_TRUE(glob_match("spin?", "spin2"));
  EXPECT_FALSE(glob_match("spin?", "spin"));
  EXPECT_FALSE(glob_match("spin?", "spin22"));
  // "é" is two bytes in UTF-8.
  EXPECT_FALSE(glob_match("caf?", "caf\xc3\xa9"));
  EXPECT_TRUE(glob_match("caf??", "caf\xc3\xa9"));
}

TEST(GlobMatch, shouldBacktrackWhenTheFirstCandidateForAStarFails) {
  EXPECT_TRUE(glob_match("*ab", "aab"));
  EXPECT_TRUE(glob_match("*::spin*", "fixture::Widget::spin(int)"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbXbXc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbXbX"));
}

TEST(GlobMatch, shouldTreatBracketsAndParenthesesLiterally) {
  EXPECT_TRUE(glob_match("fixture::Widget::spin(int)", "fixture::Widget::spin(int)"));
  EXPECT_TRUE(glob_match("operator[]", "operator[]"));
  EXPECT_FALSE(glob_match("[ab]", "a"));
}

TEST(GlobMatch, shouldMatchEmptyPatternOnlyAgainstEmptyText) {
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "main"));
}

TEST(GlobMatch, shouldStayFastOnPathologicalPatterns) {
  const std::string text(10000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
}

TEST(IsGlob, shouldRecognizeWildcards) {
  EXPECT_TRUE(is_glob("fixture::*"));
  EXPECT_TRUE(is_glob("spin?"));
  EXPECT_FALSE(is_glob("fixture::Widget::spin(int)"));
  EXPECT_FALSE(is_glob(""));
}

}  // namespace
}  // namespace profilis
