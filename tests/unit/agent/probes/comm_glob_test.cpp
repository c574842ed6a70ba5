#include "agent/probes/comm_glob.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "agent/common/glob.h"

namespace profilis {
namespace {

TEST(CommGlob, MatchesLikeTheShell) {
  struct Case {
    const char* glob;
    const char* comm;
    bool matches;
  };
  const Case cases[] = {{"python3", "python3", true},
                        {"python3", "python", false},
                        {"python*", "python3.11", true},
                        {"*sql*", "postgres", false},
                        {"*gres", "postgres", true},
                        {"p?stgres", "postgres", true},
                        {"*", "", true},
                        {"?", "", false},
                        {"a*b*c", "axxbyyc", true},
                        {"a*b*c", "axxbyy", false},
                        {"**x", "x", true},
                        {"*a", "aaa", true}};
  for (const auto& c : cases) {
    EXPECT_EQ(comm_glob_matches(compile_comm_glob(c.glob), c.comm), c.matches)
        << c.glob << " vs " << c.comm;
  }
}

// A process name is at most 15 characters: the kernel never sees more.
TEST(CommGlob, LooksAtTheFifteenCharactersTheKernelKeeps) {
  EXPECT_TRUE(comm_glob_matches(compile_comm_glob("abcdefghijklmno"), "abcdefghijklmno"));
  EXPECT_TRUE(comm_glob_matches(compile_comm_glob("abcdefghijklmno"), "abcdefghijklmnopq"));
}

// The compiled automaton agrees with the agent's own glob_match on random globs and names.
TEST(CommGlob, AgreesWithGlobMatchOnRandomInput) {
  std::mt19937 random(12345);
  const std::string glob_alphabet = "ab*?";
  const std::string name_alphabet = "abc";
  for (int round = 0; round < 200000; ++round) {
    std::string glob, comm;
    const int glob_length = static_cast<int>(random() % 8);
    const int comm_length = static_cast<int>(random() % 10);
    for (int i = 0; i < glob_length; ++i) glob += glob_alphabet[random() % glob_alphabet.size()];
    for (int i = 0; i < comm_length; ++i) comm += name_alphabet[random() % name_alphabet.size()];
    ASSERT_EQ(comm_glob_matches(compile_comm_glob(glob), comm), glob_match(glob, comm))
        << "glob '" << glob << "', name '" << comm << "'";
  }
}

}  // namespace
}  // namespace profilis
