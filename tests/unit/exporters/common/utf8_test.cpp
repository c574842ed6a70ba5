#include "exporters/common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace profilis {
namespace {

TEST(WithoutCutSequence, shouldDropOnlyASequenceTheEndCutsShort) {
  const std::string e_acute = "\xC3\xA9", euro = "\xE2\x82\xAC", emoji = "\xF0\x9F\x98\x80";
  EXPECT_EQ(without_cut_sequence("abc"), 3u);
  EXPECT_EQ(without_cut_sequence(""), 0u);
  EXPECT_EQ(without_cut_sequence("x" + e_acute), 3u);
  EXPECT_EQ(without_cut_sequence("x" + e_acute.substr(0, 1)), 1u);
  EXPECT_EQ(without_cut_sequence("x" + euro), 4u);
  EXPECT_EQ(without_cut_sequence("x" + euro.substr(0, 2)), 1u);
  EXPECT_EQ(without_cut_sequence("x" + emoji), 5u);
  EXPECT_EQ(without_cut_sequence("x" + emoji.substr(0, 3)), 1u);
  EXPECT_EQ(without_cut_sequence("x" + emoji.substr(0, 1)), 1u);
  for (const std::string& whole : {e_acute, euro, emoji}) {
    const std::string text = "SELECT '" + whole + whole + "'";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      const std::string prefix = text.substr(0, cut);
      EXPECT_TRUE(is_valid_utf8(prefix.substr(0, without_cut_sequence(prefix)))) << cut;
    }
  }
}

}  // namespace
}  // namespace profilis
