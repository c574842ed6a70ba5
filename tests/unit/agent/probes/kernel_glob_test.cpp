#include "agent/probes/kernel_glob.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "agent/common/glob.h"

namespace profilis {
namespace {

TEST(KernelGlob, MatchesLikeTheShell) {
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
    EXPECT_EQ(kernel_glob_matches(compile_kernel_glob(c.glob), c.comm, PROFILIS_COMM_LEN - 1),
              c.matches)
        << c.glob << " vs " << c.comm;
  }
}

// A process name is at most 15 characters: the kernel never sees more.
TEST(KernelGlob, LooksAtTheFifteenCharactersTheKernelKeeps) {
  EXPECT_TRUE(kernel_glob_matches(compile_kernel_glob("abcdefghijklmno"), "abcdefghijklmno",
                                  PROFILIS_COMM_LEN - 1));
  EXPECT_TRUE(kernel_glob_matches(compile_kernel_glob("abcdefghijklmno"), "abcdefghijklmnopq",
                                  PROFILIS_COMM_LEN - 1));
}

// The compiled automaton agrees with the agent's own glob_match on random globs and names.
TEST(KernelGlob, AgreesWithGlobMatchOnRandomInput) {
  std::mt19937 random(12345);
  const std::string glob_alphabet = "ab*?";
  const std::string name_alphabet = "abc";
  for (int round = 0; round < 200000; ++round) {
    std::string glob, comm;
    const int glob_length = static_cast<int>(random() % 8);
    const int comm_length = static_cast<int>(random() % 10);
    for (int i = 0; i < glob_length; ++i) glob += glob_alphabet[random() % glob_alphabet.size()];
    for (int i = 0; i < comm_length; ++i) comm += name_alphabet[random() % name_alphabet.size()];
    ASSERT_EQ(kernel_glob_matches(compile_kernel_glob(glob), comm, PROFILIS_COMM_LEN - 1),
              glob_match(glob, comm))
        << "glob '" << glob << "', name '" << comm << "'";
  }
}

// Python names are longer: globs of up to 63 characters (the 64-bit state) over names of 100.
TEST(KernelGlob, AgreesWithGlobMatchOnLongGlobsAndNames) {
  std::mt19937 random(54321);
  const std::string glob_alphabet = "ab_*?";
  const std::string name_alphabet = "ab_";
  for (int round = 0; round < 50000; ++round) {
    std::string glob, name;
    const int glob_length = static_cast<int>(random() % PROFILIS_GLOB_MAX);
    const int name_length = static_cast<int>(random() % 100);
    for (int i = 0; i < glob_length; ++i) glob += glob_alphabet[random() % glob_alphabet.size()];
    for (int i = 0; i < name_length; ++i) name += name_alphabet[random() % name_alphabet.size()];
    if (round % 2 == 0) name = glob_length > 0 ? name.substr(0, name.size() / 2) + glob : name;
    ASSERT_LT(collapse_stars(glob).size(), std::size_t{PROFILIS_GLOB_MAX});
    ASSERT_EQ(kernel_glob_matches(compile_kernel_glob(glob), name), glob_match(glob, name))
        << "glob '" << glob << "', name '" << name << "'";
  }
}

TEST(KernelGlob, HoldsSixtyThreeCharacters) {
  const std::string longest(PROFILIS_GLOB_MAX - 1, 'x');
  EXPECT_TRUE(kernel_glob_matches(compile_kernel_glob(longest), longest));
  EXPECT_FALSE(kernel_glob_matches(compile_kernel_glob(longest), longest + "x"));
  EXPECT_FALSE(kernel_glob_matches(compile_kernel_glob(longest), longest.substr(1)));
  EXPECT_EQ(collapse_stars("a***b**"), "a*b*");
}

}  // namespace
}  // namespace profilis
