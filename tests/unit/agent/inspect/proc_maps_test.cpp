#include "agent/inspect/proc_maps.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/common/errors.h"
#include "agent/targets/targets.h"

namespace profilis {
namespace {

// A realistic /proc/PID/maps: the executable, libraries, a path with spaces, a deleted file,
// pseudo files and anonymous mappings, with the usual padding before the path.
constexpr const char* kMaps =
    "55d4c3a00000-55d4c3a02000 r--p 00000000 08:01 1311234                    /usr/bin/my app\n"
    "55d4c3a02000-55d4c3a07000 r-xp 00002000 08:01 1311234                    /usr/bin/my app\n"
    "55d4c3a07000-55d4c3a09000 r--p 00007000 08:01 1311234                    /usr/bin/my app\n"
    "55d4c4b9e000-55d4c4bbf000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1a2a000000-7f1a2a021000 rw-p 00000000 00:00 0 \n"
    "7f1a2b000000-7f1a2b028000 r--p 00000000 08:01 1315000                    "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1a2b028000-7f1a2b19d000 r-xp 00028000 08:01 1315000                    "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1a2b200000-7f1a2b220000 r--p 00000000 08:01 1316000                    "
    "/usr/lib/x86_64-linux-gnu/libpq.so.5.15\n"
    "7f1a2b300000-7f1a2b310000 r--p 00000000 08:01 1317000                    "
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3\n"
    "7f1a2b400000-7f1a2b401000 r-xp 00000000 08:01 2000001                    "
    "/opt/vendor dir/lib/libfoo bar.so\n"
    "7f1a2b500000-7f1a2b501000 r-xp 00000000 08:01 2000002                    /tmp/old.so "
    "(deleted)\n"
    "7f1a2b600000-7f1a2b601000 rw-s 00000000 00:01 3000                       /dev/zero (deleted)\n"
    "7f1a2b700000-7f1a2b701000 rw-p 00000000 00:00 0                          [anon:scratch]\n"
    "7f1a2b028000-7f1a2b19d000 rw-p 001d0000 08:01 1315000                    "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7ffd1a3c0000-7ffd1a3e1000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd1a3f0000-7ffd1a3f4000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd1a3f4000-7ffd1a3f6000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

const std::vector<std::string> kMapped = {
    "/usr/bin/my app",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libpq.so.5.15",
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    "/opt/vendor dir/lib/libfoo bar.so",
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ---------------------------------------------------------------------------------------------
// parse_mapped_files

TEST(ParseMappedFiles, shouldListDistinctFilesInOrderOfFirstAppearance) {
  EXPECT_EQ(parse_mapped_files(kMaps), kMapped);
}

TEST(ParseMappedFiles, shouldKeepSpacesInsidePaths) {
  const auto files = parse_mapped_files(
      "7f1a2b400000-7f1a2b401000 r-xp 00000000 08:01 2000001    /opt/a b/c  d/lib x.so\n");
  EXPECT_EQ(files, std::vector<std::string>{"/opt/a b/c  d/lib x.so"});
}

TEST(ParseMappedFiles, shouldSkipDeletedFiles) {
  const auto files = parse_mapped_files(kMaps);
  EXPECT_FALSE(contains(files, "/tmp/old.so"));
  EXPECT_FALSE(contains(files, "/tmp/old.so (deleted)"));
  EXPECT_FALSE(contains(files, "/dev/zero"));
  EXPECT_FALSE(contains(files, "/dev/zero (deleted)"));
}

TEST(ParseMappedFiles, shouldSkipPseudoFilesAndAnonymousMappings) {
  const auto files = parse_mapped_files(
      "55d4c4b9e000-55d4c4bbf000 rw-p 00000000 00:00 0                          [heap]\n"
      "7f1a2a000000-7f1a2a021000 rw-p 00000000 00:00 0 \n"
      "7f1a2a000000-7f1a2a021000 rw-p 00000000 00:00 0\n"
      "7ffd1a3c0000-7ffd1a3e1000 rw-p 00000000 00:00 0                          [stack]\n"
      "7ffd1a3f4000-7ffd1a3f6000 r-xp 00000000 00:00 0                          [vdso]\n"
      "7f1a2b700000-7f1a2b701000 rw-p 00000000 00:00 0                          [anon:x]\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n");
  EXPECT_TRUE(files.empty()) << files.front();
}

TEST(ParseMappedFiles, shouldListAFileOnceHoweverOftenItIsMapped) {
  const auto files = parse_mapped_files(
      "1000-2000 r--p 00000000 08:01 7 /lib/a.so\n"
      "2000-3000 r-xp 00001000 08:01 7 /lib/a.so\n"
      "3000-4000 r--p 00000000 08:01 8 /lib/b.so\n"
      "4000-5000 rw-p 00002000 08:01 7 /lib/a.so\n");
  EXPECT_EQ(files, (std::vector<std::string>{"/lib/a.so", "/lib/b.so"}));
}

TEST(ParseMappedFiles, shouldHandleEmptyTextAndMissingFinalNewline) {
  EXPECT_TRUE(parse_mapped_files("").empty());
  EXPECT_EQ(parse_mapped_files("1000-2000 r--p 00000000 08:01 7 /lib/a.so"),
            std::vector<std::string>{"/lib/a.so"});
}

TEST(ParseMappedFiles, shouldSkipMalformedLines) {
  const auto files = parse_mapped_files(
      "garbage\n"
      "\n"
      "1000-2000 r--p /not/a/map/line\n"
      "1000-2000 r--p 00000000 08:01 7 /lib/ok.so\n");
  EXPECT_EQ(files, std::vector<std::string>{"/lib/ok.so"});
}

// ---------------------------------------------------------------------------------------------
// find_mapped_object

TEST(FindMappedObject, shouldFindByExactPath) {
  EXPECT_EQ(find_mapped_object(kMapped, "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(find_mapped_object(kMapped, "/opt/vendor dir/lib/libfoo bar.so"),
            "/opt/vendor dir/lib/libfoo bar.so");
  EXPECT_EQ(find_mapped_object(kMapped, "/usr/bin/my app"), "/usr/bin/my app");
}

TEST(FindMappedObject, shouldCompareAPathAsGiven) {
  // A path is not shortened to its base name nor extended as a soname prefix.
  EXPECT_EQ(find_mapped_object(kMapped, "/lib/x86_64-linux-gnu/libc.so.6"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "/usr/lib/x86_64-linux-gnu/libpq.so.5"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "x86_64-linux-gnu/libc.so.6"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "/usr/lib/x86_64-linux-gnu/libc.so"), std::nullopt);
}

TEST(FindMappedObject, shouldFindByExactBaseName) {
  EXPECT_EQ(find_mapped_object(kMapped, "libc.so.6"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(find_mapped_object(kMapped, "libpq.so.5.15"),
            "/usr/lib/x86_64-linux-gnu/libpq.so.5.15");
  EXPECT_EQ(find_mapped_object(kMapped, "libfoo bar.so"), "/opt/vendor dir/lib/libfoo bar.so");
  EXPECT_EQ(find_mapped_object(kMapped, "my app"), "/usr/bin/my app");
}

TEST(FindMappedObject, shouldPreferAnExactBaseNameOverAnEarlierPrefixMatch) {
  const std::vector<std::string> mapped = {"/opt/a/libx.so.1.2", "/opt/b/libx.so.1"};
  EXPECT_EQ(find_mapped_object(mapped, "libx.so.1"), "/opt/b/libx.so.1");
  EXPECT_EQ(find_mapped_object(mapped, "libx.so"), "/opt/a/libx.so.1.2");
}

TEST(FindMappedObject, shouldFindBySonamePrefixUpToADot) {
  EXPECT_EQ(find_mapped_object(kMapped, "libpq.so.5"), "/usr/lib/x86_64-linux-gnu/libpq.so.5.15");
  EXPECT_EQ(find_mapped_object(kMapped, "libpq.so"), "/usr/lib/x86_64-linux-gnu/libpq.so.5.15");
  EXPECT_EQ(find_mapped_object(kMapped, "libc.so"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(FindMappedObject, shouldNotMatchAPrefixThatEndsInsideAComponent) {
  EXPECT_EQ(find_mapped_object(kMapped, "libpq.so.5.1"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "libpq.so.5."), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "libp"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "libcry"), std::nullopt);
}

// The documented rule: a name that "is a prefix of [the base name] up to a dot". "libc" is such a
// prefix of "libc.so.6", so it finds libc, and never libcrypto.so.3 (no dot after "libc").
TEST(FindMappedObject, shouldMatchABareLibraryNameFollowedByADot) {
  EXPECT_EQ(find_mapped_object(kMapped, "libc"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(find_mapped_object({"/usr/lib/x86_64-linux-gnu/libcrypto.so.3"}, "libc"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "libcrypto"), "/usr/lib/x86_64-linux-gnu/libcrypto.so.3");
}

TEST(FindMappedObject, shouldNotMatchSuffixesOrOtherSubstrings) {
  EXPECT_EQ(find_mapped_object(kMapped, "ibc.so.6"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "so.6"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "libc.so.6.1"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "LIBC.SO.6"), std::nullopt);
  EXPECT_EQ(find_mapped_object(kMapped, "libmysqlclient.so.21"), std::nullopt);
}

TEST(FindMappedObject, shouldFindNothingInAnEmptyList) {
  EXPECT_EQ(find_mapped_object({}, "libc.so.6"), std::nullopt);
  EXPECT_EQ(find_mapped_object({}, "/usr/lib/libc.so.6"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// parse_fn_spec

TEST(ParseFnSpec, shouldTakeAPlainNameAsThePatternOfTheMainExecutable) {
  const FnSpec spec = parse_fn_spec("malloc");
  EXPECT_EQ(spec.object, "");
  EXPECT_EQ(spec.pattern, "malloc");
}

TEST(ParseFnSpec, shouldSplitObjectAndPattern) {
  const FnSpec spec = parse_fn_spec("libc.so.6:malloc");
  EXPECT_EQ(spec.object, "libc.so.6");
  EXPECT_EQ(spec.pattern, "malloc");
  const FnSpec glob = parse_fn_spec("libc.so.6:*alloc*");
  EXPECT_EQ(glob.object, "libc.so.6");
  EXPECT_EQ(glob.pattern, "*alloc*");
}

TEST(ParseFnSpec, shouldKeepCppScopeSeparatorsInThePattern) {
  const FnSpec spec = parse_fn_spec("ns::Cls::fn");
  EXPECT_EQ(spec.object, "");
  EXPECT_EQ(spec.pattern, "ns::Cls::fn");
  const FnSpec glob = parse_fn_spec("fixture::Widget::spin*");
  EXPECT_EQ(glob.object, "");
  EXPECT_EQ(glob.pattern, "fixture::Widget::spin*");
}

TEST(ParseFnSpec, shouldSplitAPathObjectFromAScopedPattern) {
  const FnSpec spec = parse_fn_spec("/usr/lib/libx.so:ns::fn");
  EXPECT_EQ(spec.object, "/usr/lib/libx.so");
  EXPECT_EQ(spec.pattern, "ns::fn");
  const FnSpec deep = parse_fn_spec("libx.so:a::b::c(int)");
  EXPECT_EQ(deep.object, "libx.so");
  EXPECT_EQ(deep.pattern, "a::b::c(int)");
}

TEST(ParseFnSpec, shouldRejectAnEmptyPattern) {
  try {
    parse_fn_spec("lib:");
    ADD_FAILURE() << "\"lib:\" did not throw";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
  EXPECT_THROW(parse_fn_spec(""), UsageError);
}

TEST(ParseFnSpec, shouldRejectAnEmptyObject) {
  try {
    parse_fn_spec(":fn");
    ADD_FAILURE() << "\":fn\" did not throw";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

// ---------------------------------------------------------------------------------------------
// inspect_process

TEST(InspectProcess, shouldDescribeThisProcess) {
  const TracedProcess self = inspect_process(getpid());
  EXPECT_EQ(self.pid, getpid());
  char comm[17] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, comm, 0, 0, 0), 0);
  EXPECT_EQ(self.comm, comm);
  EXPECT_FALSE(self.comm.empty());
  EXPECT_EQ(self.comm.find('\n'), std::string::npos);
  EXPECT_EQ(self.exe, std::filesystem::read_symlink("/proc/self/exe").string());
  ASSERT_FALSE(self.mapped_files.empty());
  EXPECT_TRUE(contains(self.mapped_files, self.exe)) << self.exe;
  for (const std::string& path : self.mapped_files) {
    EXPECT_EQ(path.front(), '/') << path;
    EXPECT_FALSE(path.ends_with(" (deleted)")) << path;
  }
  // Every test binary maps the C library.
  EXPECT_TRUE(find_mapped_object(self.mapped_files, "libc.so.6").has_value());
}

TEST(InspectProcess, shouldRejectAProcessThatDoesNotExist) {
  try {
    inspect_process(999999999);
    ADD_FAILURE() << "no exception for pid 999999999";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("999999999"), std::string::npos) << e.what();
  }
}

TEST(InspectProcess, shouldRejectNonPositivePids) {
  EXPECT_THROW(inspect_process(0), UsageError);
  EXPECT_THROW(inspect_process(-1), UsageError);
}

// --- read_only_run -----------------------------------------------------------------------------

TEST(ReadOnlyRun, shouldTakeTheAdjacentReadOnlyMappingsOfTheFile) {
  const auto run = read_only_run(kMaps, "/usr/bin/my app");
  ASSERT_EQ(run.size(), 3u);
  EXPECT_EQ(run[0].start, 0x55d4c3a00000u);
  EXPECT_EQ(run[0].end, 0x55d4c3a02000u);
  EXPECT_EQ(run[0].file_offset, 0u);
  EXPECT_EQ(run[1].file_offset, 0x2000u);
  EXPECT_EQ(run[2].start, 0x55d4c3a07000u);
  EXPECT_EQ(run[2].end, 0x55d4c3a09000u);
  EXPECT_EQ(run[2].file_offset, 0x7000u);
}

// A typical library: headers, code, constants, then RELRO (read-only again, adjacent) and data.
// The writable mapping ends the run; a gap breaks it, and the longer run wins.
TEST(ReadOnlyRun, shouldStopAtWritableMappingsAndGapsAndKeepTheLongestRun) {
  constexpr const char* maps =
      "7f0000000000-7f0000001000 r--p 00000000 08:01 7 /lib/libm.so\n"
      "7f0000001000-7f0000002000 r-xp 00001000 08:01 7 /lib/libm.so\n"
      "7f0000002000-7f0000003000 rw-p 00002000 08:01 7 /lib/libm.so\n"
      "7f0000003000-7f0000005000 r--p 00003000 08:01 7 /lib/libm.so\n"
      "7f0000005000-7f0000008000 r--p 00004000 08:01 7 /lib/libm.so\n"
      "7f0000009000-7f000000a000 r--p 00009000 08:01 7 /lib/libm.so\n"
      "7f000000a000-7f000000b000 r--p 00000000 08:01 8 /lib/other.so\n";
  const auto run = read_only_run(maps, "/lib/libm.so");
  ASSERT_EQ(run.size(), 2u);
  EXPECT_EQ(run.front().start, 0x7f0000003000u);
  EXPECT_EQ(run.back().end, 0x7f0000008000u);
  EXPECT_EQ(run.back().file_offset, 0x4000u);
}

TEST(ReadOnlyRun, shouldBeEmptyForAFileNotMappedOrOnlyWritable) {
  EXPECT_TRUE(read_only_run(kMaps, "/usr/bin/other").empty());
  EXPECT_TRUE(
      read_only_run("7f0000000000-7f0000001000 rw-p 00000000 08:01 7 /lib/x.so\n", "/lib/x.so")
          .empty());
  EXPECT_TRUE(read_only_run("garbage\n", "/lib/x.so").empty());
}

}  // namespace
}  // namespace profilis
