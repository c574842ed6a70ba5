#include "agent/inspect/marker_strings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace profilis {
namespace {

// A file standing in for an object file, removed at the end of the test.
class ObjectFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "marker_strings_test.XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = pattern;
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // `contents` at file offset 0.
  void write(const std::string& contents) { std::ofstream(path_, std::ios::binary) << contents; }

  std::string path_;
};

TEST_F(ObjectFileTest, shouldReadTheStringAtAnAddressFromTheFileOffsetItsMappingShows) {
  write(std::string(0x100, 'x') + "load_user" + '\0' + "render" + '\0');
  MarkerStrings strings;
  // Memory 0x7000.. shows the file from offset 0x100 on.
  const auto id = strings.add(path_, {{.start = 0x7000, .end = 0x8000, .file_offset = 0x100}});
  ASSERT_EQ(id, 1u);
  EXPECT_EQ(strings.range(id), std::make_pair(std::uint64_t{0x7000}, std::uint64_t{0x8000}));
  EXPECT_EQ(strings.string_at(id, 0x7000, 128), "load_user");
  EXPECT_EQ(strings.string_at(id, 0x700a, 128), "render");
  // Asked again: the same, from the cache.
  EXPECT_EQ(strings.string_at(id, 0x700a, 128), "render");
}

TEST_F(ObjectFileTest, shouldCutAtTheLimitLikeTheKernelDoes) {
  write(std::string(300, 'n') + '\0');
  MarkerStrings strings;
  const auto id = strings.add(path_, {{.start = 0x1000, .end = 0x2000, .file_offset = 0}});
  EXPECT_EQ(strings.string_at(id, 0x1000, 128), std::string(127, 'n'));
  // Each limit is its own cut, whichever was asked for first (an FN name and a query may start at
  // the same address).
  EXPECT_EQ(strings.string_at(id, 0x1000, 257), std::string(256, 'n'));
  std::string out = "old";
  EXPECT_TRUE(strings.read(id, 0x1000, 16, out));
  EXPECT_EQ(out, std::string(15, 'n'));
  EXPECT_FALSE(strings.read(id, 0x3000, 16, out));
  EXPECT_EQ(out, std::string(15, 'n'));
}

// A run of adjacent mappings need not be contiguous in the file: a string that runs over the end
// of one mapping continues at the next mapping's file offset.
TEST_F(ObjectFileTest, shouldFollowAStringIntoTheNextMappingOfTheRun) {
  std::string file(0x30, '-');
  file.replace(0x0e, 2, "ab");  // the last two bytes of the first mapping
  file.replace(0x20, 3, std::string("cd") + '\0');
  write(file);
  MarkerStrings strings;
  const auto id = strings.add(path_, {{.start = 0x1000, .end = 0x1010, .file_offset = 0x00},
                                      {.start = 0x1010, .end = 0x1020, .file_offset = 0x20}});
  EXPECT_EQ(strings.string_at(id, 0x100e, 128), "abcd");
}

// Where the file ends before the NUL, the string ends too.
TEST_F(ObjectFileTest, shouldStopWhereTheFileEnds) {
  write("tail");
  MarkerStrings strings;
  const auto id = strings.add(path_, {{.start = 0x1000, .end = 0x2000, .file_offset = 0}});
  EXPECT_EQ(strings.string_at(id, 0x1000, 128), "tail");
  EXPECT_EQ(strings.string_at(id, 0x1800, 128), "");
}

TEST_F(ObjectFileTest, shouldRefuseUnknownObjectsAndAddressesOutsideTheRun) {
  write(std::string("name") + '\0');
  MarkerStrings strings;
  const auto id = strings.add(path_, {{.start = 0x1000, .end = 0x2000, .file_offset = 0}});
  EXPECT_EQ(strings.string_at(0, 0x1000, 128), std::nullopt);
  EXPECT_EQ(strings.string_at(id + 1, 0x1000, 128), std::nullopt);
  EXPECT_EQ(strings.string_at(id, 0x0fff, 128), std::nullopt);
  EXPECT_EQ(strings.string_at(id, 0x2000, 128), std::nullopt);
}

TEST_F(ObjectFileTest, shouldGiveNoIdWithoutARunOrAReadableFile) {
  MarkerStrings strings;
  EXPECT_EQ(strings.add(path_, {}), 0u);
  EXPECT_EQ(strings.add(path_ + ".missing", {{.start = 0x1000, .end = 0x2000, .file_offset = 0}}),
            0u);
  EXPECT_EQ(strings.add(path_, {{.start = 0x1000, .end = 0x2000, .file_offset = 0}}), 1u);
}

}  // namespace
}  // namespace profilis
