#include "agent/common/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <type_traits>
#include <utility>

namespace profilis {
namespace {

// Whether `fd` is an open descriptor of this process.
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

static_assert(!std::is_copy_constructible_v<unique_fd> && !std::is_copy_assignable_v<unique_fd>);
static_assert(std::is_nothrow_move_constructible_v<unique_fd> &&
              std::is_nothrow_move_assignable_v<unique_fd>);

TEST(UniqueFd, shouldCloseWhenItGoesOutOfScope) {
  int raw = -1;
  {
    const unique_fd fd(open_null());
    raw = fd.get();
    ASSERT_TRUE(fd);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, shouldHoldNothingForAFailedOpen) {
  const unique_fd empty;
  const unique_fd failed(::open("/nonexistent/file", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(empty);
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.get(), -1);
}

TEST(UniqueFd, shouldLeaveTheDescriptorOpenWhenReleased) {
  unique_fd fd(open_null());
  const int raw = fd.release();
  EXPECT_FALSE(fd);
  EXPECT_EQ(fd.release(), -1);
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, shouldCloseTheOldDescriptorOnReset) {
  unique_fd fd(open_null());
  const int first = fd.get();
  const int second = open_null();
  fd.reset(second);
  EXPECT_FALSE(is_open(first));
  EXPECT_EQ(fd.get(), second);
  fd.reset();
  EXPECT_FALSE(is_open(second));
  EXPECT_FALSE(fd);
}

TEST(UniqueFd, shouldKeepADescriptorResetToItself) {
  unique_fd fd(open_null());
  const int raw = fd.get();
  fd.reset(raw);
  EXPECT_TRUE(is_open(raw));
  EXPECT_EQ(fd.get(), raw);
}

TEST(UniqueFd, shouldMoveOwnershipAndCloseWhatTheTargetHeld) {
  unique_fd from(open_null());
  const int moved = from.get();
  unique_fd to(std::move(from));
  EXPECT_FALSE(from);  // NOLINT(bugprone-use-after-move): a moved-from owner holds nothing
  EXPECT_EQ(to.get(), moved);

  unique_fd other(open_null());
  const int replaced = other.get();
  other = std::move(to);
  EXPECT_FALSE(is_open(replaced));
  EXPECT_EQ(other.get(), moved);
  EXPECT_TRUE(is_open(moved));
}

TEST(UniqueFd, shouldSurviveSelfMoveAssignment) {
  unique_fd fd(open_null());
  const int raw = fd.get();
  unique_fd& same = fd;
  fd = std::move(same);
  EXPECT_EQ(fd.get(), raw);
  EXPECT_TRUE(is_open(raw));
}

}  // namespace
}  // namespace profilis
