// The JSONL sink on a disk that fills up: a small tmpfs mounted by the test runs out of space while
// the sink writes. Writing must not throw, must leave only complete lines, must count what it
// loses, and must resume by itself once there is room again.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "exporters/common/event.h"
#include "exporters/jsonl/jsonl_sink.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A tmpfs of a given size on a fresh directory; unmounted (lazily, so that an open file cannot
// keep it) before the directory is removed, also when the test fails.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& size) {
    mount_with(0, size);
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  // Gives the file system a new size, keeping its files.
  void resize(const std::string& size) { mount_with(MS_REMOUNT, size); }
  fs::path path() const { return dir_.path(); }

 private:
  void mount_with(unsigned long flags, const std::string& size) {
    const std::string data = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", flags | MS_NOSUID | MS_NODEV,
                data.c_str()) != 0) {
      throw std::runtime_error("mount tmpfs (" + data + ") on " + dir_.path() + ": " +
                               std::strerror(errno));
    }
  }

  TempDir dir_;
  bool mounted_ = false;
};

Event event_with_seq(std::uint64_t seq) {
  Event e;
  e.kind = EventKind::kDb;
  e.ts_ns = 1764031200000000000ull + seq;
  e.dur_ns = 812345;
  e.pid = 4242;
  e.tid = 4243;
  e.comm = "api";
  e.service = "api";
  e.query = "SELECT * FROM users WHERE id = ? -- " + std::to_string(seq);
  e.db_vendor = "postgresql";
  return e;
}

// Hands out events numbered 0, 1, 2, ... and remembers how many it handed out.
class EventSource {
 public:
  std::vector<Event> next(std::size_t count) {
    std::vector<Event> batch;
    for (std::size_t i = 0; i < count; ++i) batch.push_back(event_with_seq(issued_++));
    return batch;
  }
  std::uint64_t issued() const { return issued_; }

 private:
  std::uint64_t issued_ = 0;
};

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The sequence numbers of the lines of `path`, each line checked to be one complete JSON event.
std::vector<std::uint64_t> sequence_in(const fs::path& path) {
  const std::string text = contents(path);
  EXPECT_TRUE(text.empty() || text.back() == '\n') << path << " ends in a partial line";
  std::vector<std::uint64_t> seq;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    try {
      const json j = json::parse(line);
      const std::uint64_t n = j.at("ts_ns").get<std::uint64_t>() - 1764031200000000000ull;
      EXPECT_EQ(j.at("query").get<std::string>(), event_with_seq(n).query) << line;
      seq.push_back(n);
    } catch (const json::exception& e) {
      ADD_FAILURE() << path << ": a line is not a complete JSON event (" << e.what()
                    << "): " << line;
    }
  }
  return seq;
}

// Every line written at most once and in the order written: sequence numbers strictly increase.
void expect_in_order_without_duplicates(const std::vector<std::uint64_t>& seq) {
  for (std::size_t i = 1; i < seq.size(); ++i) {
    ASSERT_LT(seq[i - 1], seq[i]) << "at line " << i;
  }
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Writes batches until the sink reports a write error (the disk is full), then a few more, none of
// which may throw. Returns false when the disk never filled.
bool write_until_full(JsonlSink& sink, EventSource& source) {
  for (int batch = 0; batch < 10'000 && sink.write_errors() == 0; ++batch) {
    EXPECT_NO_THROW(sink.write(source.next(64)));
  }
  if (sink.write_errors() == 0) return false;
  for (int batch = 0; batch < 5; ++batch) EXPECT_NO_THROW(sink.write(source.next(64)));
  return true;
}

TEST(JsonlDiskFull, shouldKeepCompleteLinesCountLossesAndResumeWhenSpaceIsFreed) {
  PROFILIS_REQUIRE_ROOT();
  SmallTmpfs disk("64k");
  const fs::path filler = disk.path() / "filler";
  std::ofstream(filler) << std::string(40 * 1024, 'x');  // deleted later to make room
  JsonlSink sink(JsonlOptions{.dir = disk.path()});
  EventSource source;

  ::testing::internal::CaptureStderr();
  const bool filled = write_until_full(sink, source);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(filled) << "the 64k tmpfs never filled up";

  // Only complete lines are left; what is not there was counted as dropped.
  const auto full = sequence_in(sink.active_path());
  ASSERT_FALSE(full.empty());
  expect_in_order_without_duplicates(full);
  EXPECT_GT(sink.dropped_events(), 0u);
  EXPECT_GE(sink.write_errors(), 6u);  // each batch after the disk filled failed
  EXPECT_EQ(full.size() + sink.dropped_events(), source.issued());
  // Logged once for the whole burst (at most once a minute), with the reason and the path.
  EXPECT_EQ(count_of(log, "profilis-agent: jsonl:"), 1u) << log;
  EXPECT_NE(log.find(std::strerror(ENOSPC)), std::string::npos) << log;
  EXPECT_NE(log.find(sink.active_path().string()), std::string::npos) << log;

  // Room again: the next batches arrive, without any call to tell the sink.
  fs::remove(filler);
  const std::uint64_t dropped = sink.dropped_events();
  const std::uint64_t resumed_from = source.issued();
  sink.write(source.next(64));
  sink.write(source.next(64));
  EXPECT_EQ(sink.dropped_events(), dropped);
  sink.finalize();

  ASSERT_EQ(sink.finalized_files().size(), 1u);
  const auto all = sequence_in(sink.finalized_files()[0]);
  expect_in_order_without_duplicates(all);
  ASSERT_GE(all.size(), 128u);
  EXPECT_EQ(all.back(), source.issued() - 1);
  EXPECT_EQ(all[all.size() - 128], resumed_from);
  EXPECT_EQ(all.size() + sink.dropped_events(), source.issued());
}

TEST(JsonlDiskFull, shouldRotateThroughAFullDiskAndResumeAfterItGrows) {
  PROFILIS_REQUIRE_ROOT();
  SmallTmpfs disk("64k");
  constexpr std::uint64_t kRotateBytes = 16 * 1024;
  JsonlSink sink(JsonlOptions{.dir = disk.path(), .rotate_bytes = kRotateBytes});
  EventSource source;

  ::testing::internal::CaptureStderr();
  const bool filled = write_until_full(sink, source);
  ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(filled) << "the 64k tmpfs never filled up";
  EXPECT_GT(sink.dropped_events(), 0u);
  EXPECT_GE(sink.finalized_files().size(), 2u);  // rotations happened on the way

  disk.resize("1m");
  const std::uint64_t dropped = sink.dropped_events();
  const std::uint64_t resumed_from = source.issued();
  for (int batch = 0; batch < 8; ++batch) sink.write(source.next(64));
  EXPECT_EQ(sink.dropped_events(), dropped);
  sink.finalize();

  // Across every file: complete lines only, in order, none twice, and every event either written
  // or counted as dropped; the events after the remount all arrived.
  std::vector<std::uint64_t> all;
  for (const fs::path& file : sink.finalized_files()) {
    EXPECT_LE(fs::file_size(file), kRotateBytes) << file;
    for (std::uint64_t seq : sequence_in(file)) all.push_back(seq);
  }
  expect_in_order_without_duplicates(all);
  EXPECT_EQ(all.size() + sink.dropped_events(), source.issued());
  ASSERT_GE(all.size(), 8u * 64u);
  EXPECT_EQ(all[all.size() - 8 * 64], resumed_from);
  EXPECT_FALSE(fs::exists(sink.active_path()));
}

}  // namespace
}  // namespace profilis::e2e
