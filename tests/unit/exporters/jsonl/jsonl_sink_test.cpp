#include "exporters/jsonl/jsonl_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <locale>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "exporters/common/event.h"
#include "tests/common/skip_outside_ci.h"

namespace profilis {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/profilis-jsonl-test.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::system_error(errno, std::generic_category());
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));  // a partial last line, kept to be noticed
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

Event event_with_seq(std::uint64_t seq) {
  Event e;
  e.kind = EventKind::kFn;
  e.ts_ns = seq;
  e.dur_ns = 1000 + seq;
  e.pid = 42;
  e.tid = 43;
  e.comm = "app";
  e.service = "app";
  e.fn = "fn\"" + std::to_string(seq) + "\n";
  return e;
}

std::vector<Event> events(std::uint64_t from, std::uint64_t to) {
  std::vector<Event> out;
  for (std::uint64_t i = from; i < to; ++i) out.push_back(event_with_seq(i));
  return out;
}

// The ts_ns of every line, each line parsed as one JSON object.
std::vector<std::uint64_t> sequence_in(const fs::path& path) {
  const std::string text = read_file(path);
  EXPECT_TRUE(text.empty() || text.back() == '\n') << path << " ends with a partial line";
  std::vector<std::uint64_t> seq;
  for (const std::string& line : lines_of(text)) {
    try {
      const json j = json::parse(line);
      seq.push_back(j.at("ts_ns").get<std::uint64_t>());
      EXPECT_EQ(j.at("fn").get<std::string>(), "fn\"" + std::to_string(seq.back()) + "\n");
    } catch (const json::exception& e) {
      ADD_FAILURE() << "line does not parse: " << e.what() << "\n" << line;
    }
  }
  return seq;
}

std::vector<std::uint64_t> iota(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

std::string utc_stamp_at(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string utc_stamp_now() { return utc_stamp_at(std::time(nullptr)); }

// Returns just after the wall clock enters a new second, so that what follows most likely runs
// within one second.
void wait_for_next_second() {
  const std::time_t start = std::time(nullptr);
  while (std::time(nullptr) == start) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// For "<prefix>-YYYYmmdd-HHMMSS.jsonl" (and "....seqNNNNNN.jsonl" when `allow_suffix`), the stamp;
// nullopt for any other name. (Hand-written: std::regex trips GCC 12 warnings under sanitizers.)
std::optional<std::string> final_name_stamp(const std::string& name,
                                            const std::string& prefix = "profilis",
                                            bool allow_suffix = false) {
  const std::string head = prefix + "-";
  const std::string tail = ".jsonl";
  if (name.size() < head.size() + 15 + tail.size() || !name.starts_with(head) ||
      !name.ends_with(tail)) {
    return std::nullopt;
  }
  const std::string middle = name.substr(head.size(), name.size() - head.size() - tail.size());
  auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const std::string_view view(middle);
  if (!digits(view.substr(0, 8)) || view[8] != '-' || !digits(view.substr(9, 6))) {
    return std::nullopt;
  }
  const std::string_view rest = view.substr(15);
  if (!rest.empty()) {
    if (!allow_suffix || !rest.starts_with(".seq") || rest.size() != 10 ||
        !digits(rest.substr(4)) || rest.substr(4) == "000000") {
      return std::nullopt;
    }
  }
  return middle.substr(0, 15);
}

TEST(JsonlSink, shouldFinalizeExactlyOneTimestampedFileWithAllLines) {
  TempDir dir;
  const std::string before = utc_stamp_now();
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.name(), "jsonl");
  sink.write(events(0, 3));
  sink.write(events(3, 5));
  sink.finalize();
  const std::string after = utc_stamp_now();

  const auto names = file_names(dir.path());
  ASSERT_EQ(names.size(), 1u) << "files: " << ::testing::PrintToString(names);
  const auto stamp = final_name_stamp(names[0]);
  ASSERT_TRUE(stamp.has_value()) << names[0];
  // The stamp is the UTC time of finalizing.
  EXPECT_LE(before, *stamp);
  EXPECT_GE(after, *stamp);
  EXPECT_FALSE(fs::exists(sink.active_path()));
  EXPECT_EQ(sequence_in(dir.path() / names[0]), iota(0, 5));
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sink.finalized_files()[0], dir.path() / names[0]);
  EXPECT_EQ(sink.recovered_partial_lines(), 0u);
}

TEST(JsonlSink, shouldAppendToTheActiveFileBeforeFinalizing) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.active_path(), dir.path() / "profilis-active.jsonl.tmp");
  sink.write(events(0, 2));
  sink.write(events(2, 4));
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"profilis-active.jsonl.tmp"});
  EXPECT_EQ(sequence_in(sink.active_path()), iota(0, 4));
  sink.finalize();
}

TEST(JsonlSink, shouldWriteOneLinePerEvent) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  sink.write(events(0, 100));
  sink.finalize();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  const std::string text = read_file(sink.finalized_files()[0]);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 100);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(0, 100));
}

TEST(JsonlSink, shouldWriteNoFileWhenFinalizedWithoutEvents) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  sink.finalize();
  EXPECT_TRUE(file_names(dir.path()).empty()) << ::testing::PrintToString(file_names(dir.path()));
  EXPECT_TRUE(sink.finalized_files().empty());
}

TEST(JsonlSink, shouldWriteNoFileForOnlyEmptyBatches) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  sink.write({});
  sink.finalize();
  EXPECT_TRUE(file_names(dir.path()).empty()) << ::testing::PrintToString(file_names(dir.path()));
}

TEST(JsonlSink, shouldAllowASecondFinalizeThatDoesNothing) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  sink.write(events(0, 1));
  sink.finalize();
  sink.finalize();
  EXPECT_EQ(file_names(dir.path()).size(), 1u);
  EXPECT_EQ(sink.finalized_files().size(), 1u);
}

TEST(JsonlSink, shouldGiveDistinctNamesToSinksFinalizingInTheSameSecond) {
  // Up to three attempts, each aligned to the start of a second, so that at least one runs within
  // one second even on a slow machine; the names must differ whatever happens.
  bool same_second_seen = false;
  for (int attempt = 0; attempt < 3 && !same_second_seen; ++attempt) {
    TempDir dir;
    wait_for_next_second();
    JsonlSink first(JsonlOptions{.dir = dir.path()});
    first.write(events(0, 3));
    first.finalize();
    JsonlSink second(JsonlOptions{.dir = dir.path()});
    second.write(events(100, 102));
    second.finalize();

    ASSERT_EQ(first.finalized_files().size(), 1u);
    ASSERT_EQ(second.finalized_files().size(), 1u);
    const fs::path a = first.finalized_files()[0];
    const fs::path b = second.finalized_files()[0];
    EXPECT_NE(a, b);
    EXPECT_EQ(file_names(dir.path()).size(), 2u)
        << ::testing::PrintToString(file_names(dir.path()));
    // Neither was overwritten.
    EXPECT_EQ(sequence_in(a), iota(0, 3));
    EXPECT_EQ(sequence_in(b), iota(100, 102));

    const std::string a_name = a.filename().string();
    const auto a_stamp = final_name_stamp(a_name);
    ASSERT_TRUE(a_stamp.has_value()) << a_name;
    const std::string stamp = *a_stamp;
    if (b.filename().string().find(stamp) != std::string::npos) {
      same_second_seen = true;
      EXPECT_EQ(b.filename().string(), "profilis-" + stamp + ".seq000001.jsonl");
    } else {
      EXPECT_TRUE(final_name_stamp(b.filename().string()).has_value()) << b;
    }
  }
  EXPECT_TRUE(same_second_seen) << "never managed to finalize twice within one second";
}

TEST(JsonlSink, shouldNumberRepeatedFinalizationsOfOneSink) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  for (std::uint64_t round = 0; round < 3; ++round) {
    sink.write(events(round * 10, round * 10 + 2));
    sink.finalize();
  }
  ASSERT_EQ(sink.finalized_files().size(), 3u);
  EXPECT_EQ(file_names(dir.path()).size(), 3u);
  for (std::uint64_t round = 0; round < 3; ++round) {
    EXPECT_EQ(sequence_in(sink.finalized_files()[round]), iota(round * 10, round * 10 + 2));
  }
  EXPECT_FALSE(fs::exists(sink.active_path()));
}

TEST(RenameWithoutOverwrite, shouldAddASuffixRatherThanReplaceAFile) {
  TempDir dir;
  // Occupy the plain name for this second and the next few, in case the clock ticks meanwhile.
  const std::time_t now = std::time(nullptr);
  std::vector<fs::path> occupied;
  for (std::time_t t = now; t < now + 5; ++t) {
    occupied.push_back(dir.path() / ("trace-" + utc_stamp_at(t) + ".jsonl"));
    write_file(occupied.back(), "keep me\n");
  }
  const fs::path from = dir.path() / "src.tmp";
  write_file(from, "first\n");
  const fs::path first = rename_without_overwrite(from, dir.path(), "trace");
  EXPECT_TRUE(final_name_stamp(first.filename().string(), "trace", true).has_value() &&
              first.filename().string().ends_with(".seq000001.jsonl"))
      << first;
  write_file(from, "second\n");
  const fs::path second = rename_without_overwrite(from, dir.path(), "trace");
  EXPECT_NE(first, second);
  EXPECT_FALSE(fs::exists(from));
  EXPECT_EQ(read_file(first), "first\n");
  EXPECT_EQ(read_file(second), "second\n");
  for (const fs::path& p : occupied) EXPECT_EQ(read_file(p), "keep me\n") << p;
}

// `cat *.jsonl` must read the files in the order they were written, whether the shell sorts its
// glob byte by byte or by the locale's collation.
TEST(RenameWithoutOverwrite, shouldNameFilesOfOneSecondInTheOrderTheyWereWritten) {
  TempDir dir;
  const fs::path from = dir.path() / "src.tmp";
  std::vector<std::string> written;
  // Twelve renames, so that names with a two-digit sequence number are compared too; the clock
  // may tick meanwhile, which must not break the order either.
  for (int i = 0; i < 12; ++i) {
    write_file(from, std::to_string(i) + "\n");
    written.push_back(rename_without_overwrite(from, dir.path(), "p").filename().string());
  }
  ASSERT_GT(written[1].size(), written[0].size()) << "no collision happened: " << written[1];

  std::vector<std::string> bytewise = written;
  std::sort(bytewise.begin(), bytewise.end());
  EXPECT_EQ(bytewise, written);

  std::locale collated;
  try {
    collated = std::locale("en_US.UTF-8");
  } catch (const std::runtime_error&) {
    // scripts/install-deps.sh generates it; only a machine set up by other means may lack it.
    PROFILIS_SKIP_OUTSIDE_CI("no en_US.UTF-8 locale (scripts/install-deps.sh generates it)");
  }
  std::vector<std::string> by_locale = written;
  std::sort(by_locale.begin(), by_locale.end(), collated);
  EXPECT_EQ(by_locale, written);
}

TEST(RenameWithoutOverwrite, shouldThrowWhenTheSourceIsMissing) {
  TempDir dir;
  EXPECT_THROW(rename_without_overwrite(dir.path() / "missing", dir.path(), "p"),
               std::system_error);
}

TEST(JsonlSink, shouldFinalizeALeftoverActiveFileCuttingThePartialLine) {
  TempDir dir;
  const std::string complete =
      "{\"ts_ns\":1,\"kind\":\"FN\",\"fn\":\"fn\\\"1\\n\"}\n{\"ts_ns\":2,\"kind\":\"FN\",\"fn\":"
      "\"fn\\\"2\\n\"}\n";
  write_file(dir.path() / "profilis-active.jsonl.tmp", complete + "{\"ts_ns\":3,\"ki");

  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.recovered_partial_lines(), 1u);
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  const fs::path recovered = sink.finalized_files()[0];
  EXPECT_TRUE(final_name_stamp(recovered.filename().string()).has_value()) << recovered;
  EXPECT_EQ(read_file(recovered), complete);
  EXPECT_EQ(sequence_in(recovered), (std::vector<std::uint64_t>{1, 2}));

  // The new run starts from an empty active file and never touches the recovered one.
  sink.write(events(10, 12));
  sink.finalize();
  EXPECT_EQ(read_file(recovered), complete);
  ASSERT_EQ(sink.finalized_files().size(), 2u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[1]), iota(10, 12));
  EXPECT_FALSE(fs::exists(sink.active_path()));
  EXPECT_EQ(file_names(dir.path()).size(), 2u);
}

TEST(JsonlSink, shouldFinalizeACompleteLeftoverUnchanged) {
  TempDir dir;
  const std::string complete = "{\"ts_ns\":1}\n{\"ts_ns\":2}\n";
  write_file(dir.path() / "profilis-active.jsonl.tmp", complete);
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.recovered_partial_lines(), 0u);
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(read_file(sink.finalized_files()[0]), complete);
  sink.finalize();
  EXPECT_EQ(file_names(dir.path()).size(), 1u);
}

TEST(JsonlSink, shouldDropALeftoverThatHoldsOnlyAPartialLine) {
  TempDir dir;
  write_file(dir.path() / "profilis-active.jsonl.tmp", "{\"ts_ns\":1,\"kind");
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.recovered_partial_lines(), 1u);
  EXPECT_TRUE(sink.finalized_files().empty());
  sink.finalize();
  EXPECT_TRUE(file_names(dir.path()).empty()) << ::testing::PrintToString(file_names(dir.path()));
}

TEST(JsonlSink, shouldDropAnEmptyLeftover) {
  TempDir dir;
  write_file(dir.path() / "profilis-active.jsonl.tmp", "");
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.recovered_partial_lines(), 0u);
  EXPECT_TRUE(sink.finalized_files().empty());
  sink.finalize();
  EXPECT_TRUE(file_names(dir.path()).empty()) << ::testing::PrintToString(file_names(dir.path()));
}

TEST(JsonlSink, shouldCutAPartialLineLongerThanTheReadBuffer) {
  TempDir dir;
  // Complete lines and a partial one that each span several 4 KiB read chunks.
  std::string complete;
  for (int i = 0; i < 3; ++i) complete += std::string(5000, static_cast<char>('a' + i)) + "\n";
  const std::string partial(9000, 'z');
  write_file(dir.path() / "profilis-active.jsonl.tmp", complete + partial);
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  EXPECT_EQ(sink.recovered_partial_lines(), 1u);
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(read_file(sink.finalized_files()[0]), complete);
  sink.finalize();
}

TEST(JsonlSink, shouldUseACustomPrefix) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .prefix = "orders-api"});
  EXPECT_EQ(sink.active_path(), dir.path() / "orders-api-active.jsonl.tmp");
  sink.write(events(0, 2));
  EXPECT_TRUE(fs::exists(dir.path() / "orders-api-active.jsonl.tmp"));
  sink.finalize();
  const auto names = file_names(dir.path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(final_name_stamp(names[0], "orders-api").has_value()) << names[0];
  EXPECT_EQ(sequence_in(dir.path() / names[0]), iota(0, 2));
}

TEST(JsonlSink, shouldRecoverOnlyTheLeftoverOfItsOwnPrefix) {
  TempDir dir;
  write_file(dir.path() / "other-active.jsonl.tmp", "{\"ts_ns\":1}\npartial");
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .prefix = "mine"});
  EXPECT_EQ(sink.recovered_partial_lines(), 0u);
  EXPECT_TRUE(sink.finalized_files().empty());
  EXPECT_EQ(read_file(dir.path() / "other-active.jsonl.tmp"), "{\"ts_ns\":1}\npartial");
  sink.finalize();
}

// Two agents given the same --jsonl-dir and the default prefix would share one active file name.
// The second must refuse to start (its start-up "recovery" would otherwise take the first one's
// live file), and the first must keep every event. `first_writes_early`: the first sink wrote
// before the second tried to start.
void expect_second_sink_refused_and_first_unharmed(bool first_writes_early) {
  TempDir dir;
  JsonlSink first(JsonlOptions{.dir = dir.path()});
  if (first_writes_early) first.write(events(0, 3));
  EXPECT_THROW(JsonlSink(JsonlOptions{.dir = dir.path()}), std::system_error);
  if (!first_writes_early) first.write(events(0, 3));
  first.write(events(3, 5));
  EXPECT_NO_THROW(first.finalize());

  const auto names = file_names(dir.path());
  ASSERT_EQ(names.size(), 1u) << ::testing::PrintToString(names);
  EXPECT_TRUE(final_name_stamp(names[0]).has_value()) << names[0];
  EXPECT_EQ(sequence_in(dir.path() / names[0]), iota(0, 5));
}

TEST(JsonlSink, shouldRefuseASecondSinkOnAnEmptyActiveFile) {
  expect_second_sink_refused_and_first_unharmed(false);
}

TEST(JsonlSink, shouldRefuseASecondSinkOnANonEmptyActiveFile) {
  expect_second_sink_refused_and_first_unharmed(true);
}

TEST(JsonlSink, shouldCreateAMissingDirectory) {
  TempDir dir;
  const fs::path nested = dir.path() / "a" / "b";
  JsonlSink sink(JsonlOptions{.dir = nested});
  EXPECT_TRUE(fs::is_directory(nested));
  sink.write(events(0, 1));
  sink.finalize();
  EXPECT_EQ(file_names(nested).size(), 1u);
}

TEST(JsonlSink, shouldThrowSystemErrorWhenTheDirectoryIsAFile) {
  TempDir dir;
  const fs::path file = dir.path() / "not-a-dir";
  write_file(file, "x");
  EXPECT_THROW(JsonlSink(JsonlOptions{.dir = file}), std::system_error);
}

// ---- Rotation -------------------------------------------------------------------------------

// A steady clock that moves only when the test says so.
class ManualClock {
 public:
  void advance(std::chrono::seconds by) { *now_ += by; }
  std::function<JsonlSink::Clock::time_point()> function() const {
    return [now = now_] { return *now; };
  }

 private:
  std::shared_ptr<JsonlSink::Clock::time_point> now_ =
      std::make_shared<JsonlSink::Clock::time_point>(std::chrono::hours(24));
};

using std::chrono::seconds;

// The ts_ns of every line of `files`, in order.
std::vector<std::uint64_t> sequence_across(const std::vector<fs::path>& files) {
  std::vector<std::uint64_t> all;
  for (const fs::path& file : files) {
    for (std::uint64_t seq : sequence_in(file)) all.push_back(seq);
  }
  return all;
}

std::vector<std::uint64_t> concat(std::vector<std::uint64_t> a,
                                  const std::vector<std::uint64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::size_t first_line_size(const fs::path& file) { return read_file(file).find('\n') + 1; }

TEST(JsonlSink, shouldRotateBeforeALineWouldPassTheSizeLimit) {
  TempDir dir;
  constexpr std::uint64_t kLimit = 1000;  // about nine lines
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_bytes = kLimit, .rotate_secs = 0});
  std::uint64_t seq = 0;
  for (std::uint64_t size : {1, 7, 13, 2, 40, 1, 30}) {
    sink.write(events(seq, seq + size));
    seq += size;
  }
  sink.finalize();

  const auto& files = sink.finalized_files();
  ASSERT_GE(files.size(), 8u);
  EXPECT_EQ(file_names(dir.path()).size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_LE(fs::file_size(files[i]), kLimit) << files[i];
    // Rotated only when needed: the next file's first line would have taken this one past it.
    if (i + 1 < files.size()) {
      EXPECT_GT(fs::file_size(files[i]) + first_line_size(files[i + 1]), kLimit) << files[i];
    }
  }
  // Every line once, in order: none lost, none duplicated, none split.
  EXPECT_EQ(sequence_across(files), iota(0, seq));
}

TEST(JsonlSink, shouldGiveALineLongerThanTheLimitAFileOfItsOwn) {
  TempDir dir;
  constexpr std::uint64_t kLimit = 300;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_bytes = kLimit});
  std::vector<Event> batch = events(0, 8);
  batch[0].comm = std::string(1000, 'c');  // first in an empty file
  batch[3].comm = std::string(2000, 'c');  // after lines already in the file
  sink.write(batch);
  sink.finalize();

  const auto& files = sink.finalized_files();
  EXPECT_EQ(sequence_across(files), iota(0, 8));
  for (const fs::path& file : files) {
    const auto seq = sequence_in(file);
    ASSERT_FALSE(seq.empty()) << file;
    if (seq.front() == 0 || seq.front() == 3) {
      EXPECT_EQ(seq.size(), 1u) << file;
      EXPECT_GT(fs::file_size(file), kLimit) << file;
    } else {
      EXPECT_LE(fs::file_size(file), kLimit) << file;
    }
  }
}

TEST(JsonlSink, shouldNotRotateBySizeWhenRotateBytesIsZero) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_bytes = 0});
  for (std::uint64_t seq = 0; seq < 2048; seq += 256) sink.write(events(seq, seq + 256));
  EXPECT_TRUE(sink.finalized_files().empty());
  sink.finalize();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(0, 2048));
}

TEST(JsonlSink, shouldRotateByAgeOnTickWhenNoEventArrives) {
  TempDir dir;
  ManualClock clock;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_secs = 300, .clock = clock.function()});
  sink.write(events(0, 3));
  clock.advance(seconds(299));
  sink.tick();
  EXPECT_TRUE(sink.finalized_files().empty());
  clock.advance(seconds(1));
  sink.tick();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(0, 3));
  // A fresh, empty active file takes over at once.
  ASSERT_TRUE(fs::is_regular_file(sink.active_path()));
  EXPECT_EQ(fs::file_size(sink.active_path()), 0u);

  sink.write(events(3, 5));
  clock.advance(seconds(299));
  sink.tick();
  EXPECT_EQ(sink.finalized_files().size(), 1u);
  clock.advance(seconds(1));
  sink.tick();
  ASSERT_EQ(sink.finalized_files().size(), 2u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[1]), iota(3, 5));
  sink.finalize();
  EXPECT_EQ(file_names(dir.path()).size(), 2u) << ::testing::PrintToString(file_names(dir.path()));
}

TEST(JsonlSink, shouldNotRotateAnEmptyActiveFileByAge) {
  TempDir dir;
  ManualClock clock;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_secs = 300, .clock = clock.function()});
  clock.advance(seconds(3600));
  sink.tick();
  EXPECT_TRUE(sink.finalized_files().empty());
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"profilis-active.jsonl.tmp"});

  // The age counts from the first line: an idle hour does not make the next line's file old.
  sink.write(events(0, 2));
  sink.tick();
  clock.advance(seconds(299));
  sink.tick();
  EXPECT_TRUE(sink.finalized_files().empty());
  clock.advance(seconds(1));
  sink.tick();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(0, 2));

  clock.advance(seconds(3600));
  sink.tick();
  sink.finalize();
  EXPECT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(file_names(dir.path()).size(), 1u) << ::testing::PrintToString(file_names(dir.path()));
}

TEST(JsonlSink, shouldStartANewFileWhenAWriteFindsTheActiveFileOld) {
  TempDir dir;
  ManualClock clock;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_secs = 300, .clock = clock.function()});
  sink.write(events(0, 2));
  clock.advance(seconds(300));
  sink.write(events(2, 4));  // no tick came in between
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(0, 2));
  sink.finalize();
  ASSERT_EQ(sink.finalized_files().size(), 2u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[1]), iota(2, 4));
}

TEST(JsonlSink, shouldNotRotateByAgeWhenRotateSecsIsZero) {
  TempDir dir;
  ManualClock clock;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_secs = 0, .clock = clock.function()});
  sink.write(events(0, 2));
  clock.advance(seconds(10 * 24 * 3600));
  sink.tick();
  sink.write(events(2, 4));
  sink.tick();
  EXPECT_TRUE(sink.finalized_files().empty());
  sink.finalize();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(0, 4));
}

TEST(JsonlSink, shouldNumberRotationsWithinOneSecondAndOverwriteNothing) {
  // As above: aligned to the start of a second, up to three attempts to see three rotations in one.
  bool three_in_one_second = false;
  for (int attempt = 0; attempt < 3 && !three_in_one_second; ++attempt) {
    TempDir dir;
    wait_for_next_second();
    JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_bytes = 1});  // a file per line
    sink.write(events(0, 5));
    sink.finalize();

    const auto& files = sink.finalized_files();
    ASSERT_EQ(files.size(), 5u);
    EXPECT_EQ(file_names(dir.path()).size(), 5u);
    // Files of one second are numbered in the order they were rotated: "", -1, -2, ...
    std::string stamp;
    int in_second = 0;
    for (std::uint64_t i = 0; i < files.size(); ++i) {
      EXPECT_EQ(sequence_in(files[i]), std::vector<std::uint64_t>{i}) << files[i];
      const auto file_stamp = final_name_stamp(files[i].filename().string(), "profilis", true);
      ASSERT_TRUE(file_stamp.has_value()) << files[i];
      in_second = *file_stamp == stamp ? in_second + 1 : 0;
      stamp = *file_stamp;
      char suffix[16] = "";
      if (in_second > 0) std::snprintf(suffix, sizeof suffix, ".seq%06d", in_second);
      EXPECT_EQ(files[i].filename().string(), "profilis-" + stamp + suffix + ".jsonl");
      if (in_second >= 2) three_in_one_second = true;
    }
  }
  EXPECT_TRUE(three_in_one_second) << "never managed to rotate three times within one second";
}

TEST(JsonlSink, shouldStartANewActiveFileWhenTheOldOneWasRemoved) {
  TempDir dir;
  ManualClock clock;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .rotate_secs = 300, .clock = clock.function()});
  sink.write(events(0, 2));
  fs::remove(sink.active_path());  // by someone else: lines 0 and 1 are gone with it
  clock.advance(seconds(300));
  ::testing::internal::CaptureStderr();
  sink.tick();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(sink.write_errors(), 1u);
  EXPECT_NE(log.find(sink.active_path().string()), std::string::npos) << log;
  EXPECT_TRUE(fs::is_regular_file(sink.active_path()));

  sink.write(events(2, 4));
  clock.advance(seconds(300));
  sink.tick();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), iota(2, 4));
  sink.finalize();
}

// ---- Write errors ---------------------------------------------------------------------------

// Lowers this process's file size limit (RLIMIT_FSIZE), so that writes past it fail (EFBIG) as on
// a full disk, without root. SIGXFSZ, which would end the process, is ignored meanwhile.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &saved_) != 0)
      throw std::system_error(errno, std::generic_category());
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    if (::setrlimit(RLIMIT_FSIZE, &lowered) != 0) {
      lift();
      throw std::system_error(errno, std::generic_category());
    }
  }
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  void lift() {
    if (lifted_) return;
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, saved_handler_);
    lifted_ = true;
  }

 private:
  rlimit saved_{};
  void (*saved_handler_)(int) = SIG_DFL;
  bool lifted_ = false;
};

TEST(JsonlSink, shouldCutAFailedWriteBackToItsLastCompleteLineWithoutThrowing) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  ::testing::internal::CaptureStderr();
  std::uint64_t kept = 0;
  {
    FileSizeLimit limit(4096);
    EXPECT_NO_THROW(sink.write(events(0, 100)));       // about 11 KB: part of it fits
    const auto seq = sequence_in(sink.active_path());  // also checks for a partial last line
    kept = seq.size();
    EXPECT_GT(kept, 0u);
    EXPECT_LT(kept, 100u);
    EXPECT_EQ(seq, iota(0, kept));
    EXPECT_LE(fs::file_size(sink.active_path()), 4096u);
    EXPECT_EQ(sink.dropped_events(), 100 - kept);
    EXPECT_EQ(sink.write_errors(), 1u);

    EXPECT_NO_THROW(sink.write(events(100, 110)));  // the next batch tries again, and fails
    EXPECT_EQ(sequence_in(sink.active_path()), iota(0, kept));
    EXPECT_EQ(sink.dropped_events(), 110 - kept);
    EXPECT_EQ(sink.write_errors(), 2u);
  }
  // Room again: writing resumes by itself.
  sink.write(events(110, 120));
  sink.finalize();
  ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(sink.finalized_files().size(), 1u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[0]), concat(iota(0, kept), iota(110, 120)));
  EXPECT_EQ(sink.dropped_events(), 110 - kept);
  EXPECT_EQ(sink.write_errors(), 2u);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(JsonlSink, shouldLogWriteErrorsAtMostOncePerMinute) {
  TempDir dir;
  ManualClock clock;
  JsonlSink sink(JsonlOptions{.dir = dir.path(), .clock = clock.function()});
  ::testing::internal::CaptureStderr();  // before the limit: the capture is a file too
  FileSizeLimit limit(4096);
  sink.write(events(0, 100));
  const std::uint64_t first_dropped = sink.dropped_events();
  clock.advance(seconds(10));
  sink.write(events(100, 110));
  clock.advance(seconds(20));
  sink.write(events(110, 120));
  clock.advance(seconds(29));
  sink.tick();
  const std::string within_a_minute = ::testing::internal::GetCapturedStderr();
  ::testing::internal::CaptureStderr();
  clock.advance(seconds(1));
  sink.tick();  // a minute after the first line: what was counted since is reported
  clock.advance(seconds(300));
  sink.tick();  // nothing new to report
  limit.lift();
  const std::string after_a_minute = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(count_of(within_a_minute, "profilis-agent: jsonl:"), 1u) << within_a_minute;
  EXPECT_NE(within_a_minute.find(sink.active_path().string()), std::string::npos);
  EXPECT_NE(within_a_minute.find(std::strerror(EFBIG)), std::string::npos) << within_a_minute;
  EXPECT_NE(within_a_minute.find(std::to_string(first_dropped) + " events dropped"),
            std::string::npos)
      << within_a_minute;
  EXPECT_EQ(count_of(after_a_minute, "profilis-agent: jsonl:"), 1u) << after_a_minute;
  EXPECT_NE(after_a_minute.find("2 errors, 20 events dropped"), std::string::npos)
      << after_a_minute;
  sink.finalize();
}

TEST(JsonlSink, shouldCountAndRetryWhenTheActiveFileCannotBeOpened) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  sink.write(events(0, 2));
  sink.finalize();
  fs::create_directory(sink.active_path());  // opening it for writing fails: EISDIR
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(sink.write(events(2, 5)));
  EXPECT_EQ(sink.dropped_events(), 3u);
  EXPECT_EQ(sink.write_errors(), 1u);
  sink.tick();  // tries again on the timer
  EXPECT_EQ(sink.write_errors(), 2u);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(std::strerror(EISDIR)), std::string::npos) << log;

  fs::remove(sink.active_path());
  sink.tick();
  EXPECT_TRUE(fs::is_regular_file(sink.active_path()));
  EXPECT_EQ(sink.write_errors(), 2u);
  sink.write(events(5, 7));
  sink.finalize();
  ASSERT_EQ(sink.finalized_files().size(), 2u);
  EXPECT_EQ(sequence_in(sink.finalized_files()[1]), iota(5, 7));
  EXPECT_EQ(sink.dropped_events(), 3u);
}

TEST(JsonlSink, shouldLetOtherThreadsReadTheCountersWhileWriting) {
  TempDir dir;
  JsonlSink sink(JsonlOptions{.dir = dir.path()});
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::uint64_t seen = 0;
    while (!done.load()) seen += sink.dropped_events() + sink.write_errors();
    EXPECT_EQ(seen, 0u);
  });
  for (std::uint64_t seq = 0; seq < 1024; seq += 64) sink.write(events(seq, seq + 64));
  done = true;
  reader.join();
  sink.finalize();
}

}  // namespace
}  // namespace profilis
