#include "agent/inspect/usdt_arguments.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/inspect/usdt_notes.h"
#include "tests/common/skip_outside_ci.h"

namespace profilis {
namespace {

// offsetof(struct pt_regs, …) of the x86-64 user-space layout (<asm/ptrace.h>), written out.
constexpr std::int16_t kR12 = 24, kRbp = 32, kRbx = 40, kRax = 80, kRdx = 96, kRsi = 104,
                       kRdi = 112, kRsp = 152;

UsdtArgument reg(std::int16_t offset, int size, bool is_signed = false) {
  return {.kind = UsdtArgumentKind::kRegister,
          .value = 0,
          .register_offset = offset,
          .is_signed = is_signed,
          .bitshift = static_cast<std::uint8_t>(64 - 8 * size)};
}

UsdtArgument memory(std::int16_t offset, std::int64_t displacement, int size,
                    bool is_signed = false) {
  return {.kind = UsdtArgumentKind::kMemory,
          .value = static_cast<std::uint64_t>(displacement),
          .register_offset = offset,
          .is_signed = is_signed,
          .bitshift = static_cast<std::uint8_t>(64 - 8 * size)};
}

UsdtArgument constant(std::int64_t value, int size, bool is_signed = false) {
  return {.kind = UsdtArgumentKind::kConstant,
          .value = static_cast<std::uint64_t>(value),
          .register_offset = 0,
          .is_signed = is_signed,
          .bitshift = static_cast<std::uint8_t>(64 - 8 * size)};
}

std::vector<UsdtArgument> parsed(const std::string& text) {
  const UsdtArguments result = parse_usdt_arguments(text);
  EXPECT_TRUE(result.ok()) << text << ": " << result.error;
  for (const auto& argument : result.arguments) EXPECT_TRUE(is_consistent(argument)) << text;
  return result.arguments;
}

std::string refused(const std::string& text) {
  const UsdtArguments result = parse_usdt_arguments(text);
  EXPECT_FALSE(result.ok()) << text;
  EXPECT_TRUE(result.arguments.empty()) << text;
  return result.error;
}

TEST(UsdtArguments, shouldReadRegistersOfEveryWidth) {
  EXPECT_EQ(parsed("8@%rax"), (std::vector{reg(kRax, 8)}));
  EXPECT_EQ(parsed("-4@%edi"), (std::vector{reg(kRdi, 4, true)}));
  EXPECT_EQ(parsed("2@%ax"), (std::vector{reg(kRax, 2)}));
  EXPECT_EQ(parsed("1@%dil"), (std::vector{reg(kRdi, 1)}));
  EXPECT_EQ(parsed("-1@%sil"), (std::vector{reg(kRsi, 1, true)}));
  EXPECT_EQ(parsed("8@%r12"), (std::vector{reg(kR12, 8)}));
  EXPECT_EQ(parsed("4@%r12d 2@%r12w 1@%r12b"),
            (std::vector{reg(kR12, 4), reg(kR12, 2), reg(kR12, 1)}));
}

TEST(UsdtArguments, shouldTakeEightBytesWithoutASize) {
  EXPECT_EQ(parsed("%rdi"), (std::vector{reg(kRdi, 8)}));
  EXPECT_EQ(parsed("-8(%rbp)"), (std::vector{memory(kRbp, -8, 8)}));
}

TEST(UsdtArguments, shouldReadMemoryAtARegisterPlusAnOffset) {
  EXPECT_EQ(parsed("8@-8(%rbp)"), (std::vector{memory(kRbp, -8, 8)}));
  EXPECT_EQ(parsed("4@16(%rsp)"), (std::vector{memory(kRsp, 16, 4)}));
  EXPECT_EQ(parsed("-4@(%rdx)"), (std::vector{memory(kRdx, 0, 4, true)}));
  EXPECT_EQ(parsed("8@0x10(%rbx)"), (std::vector{memory(kRbx, 16, 8)}));
}

TEST(UsdtArguments, shouldReadConstants) {
  EXPECT_EQ(parsed("-4@$-5"), (std::vector{constant(-5, 4, true)}));
  EXPECT_EQ(parsed("4@$0"), (std::vector{constant(0, 4)}));
  EXPECT_EQ(parsed("8@$18446744073709551615"), (std::vector{constant(-1, 8)}));
}

TEST(UsdtArguments, shouldSplitOnAnyWhitespace) {
  EXPECT_EQ(parsed("  8@%rbx\t-4@%eax  "), (std::vector{reg(kRbx, 8), reg(kRax, 4, true)}));
  EXPECT_TRUE(parsed("").empty());
  EXPECT_TRUE(parsed("   ").empty());
}

TEST(UsdtArguments, shouldRefuseWhatBpfUsdtArgCannotRead) {
  EXPECT_NE(refused("8@%fs:40").find("segment"), std::string::npos);
  EXPECT_NE(refused("8@%fs:-8(%rax)").find("segment"), std::string::npos);
  EXPECT_NE(refused("8@(%rax,%rbx,8)").find("indexed"), std::string::npos);
  EXPECT_NE(refused("-4@-20(%rbp,%rax,4)").find("indexed"), std::string::npos);
  EXPECT_NE(refused("8@buffer(%rip)").find("symbol"), std::string::npos);
  EXPECT_NE(refused("8@%ah").find("register"), std::string::npos);
  EXPECT_NE(refused("8@%xmm0").find("register"), std::string::npos);
  EXPECT_NE(refused("3@%eax").find("size"), std::string::npos);
  EXPECT_NE(refused("16@%rax").find("size"), std::string::npos);
  EXPECT_NE(refused("@%rax").find("size"), std::string::npos);
  EXPECT_NE(refused("--4@%eax").find("size"), std::string::npos);
  EXPECT_NE(refused("4@$x").find("constant"), std::string::npos);
  EXPECT_NE(refused("4@$").find("constant"), std::string::npos);
  EXPECT_NE(refused("4@").find("operand"), std::string::npos);
  EXPECT_NE(refused("8@%rax 4@rax").find("'4@rax'"), std::string::npos);
  EXPECT_NE(refused("1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al "
                    "1@%al")
                .find("more than 12"),
            std::string::npos);
}

// Real notes: the fixtures', and those of two programs Debian ships with probes.

std::vector<UsdtNote> notes_of(const std::string& path) {
  auto notes = read_usdt_notes(path);
  if (!notes) ADD_FAILURE() << notes.error().message;
  return notes ? *std::move(notes) : std::vector<UsdtNote>{};
}

const UsdtNote* find_note(const std::vector<UsdtNote>& notes, const std::string& provider,
                          const std::string& name) {
  for (const auto& note : notes) {
    if (note.provider == provider && note.name == name) return &note;
  }
  return nullptr;
}

TEST(UsdtArguments, shouldParseEveryNoteOfTheFixtures) {
  for (const char* path :
       {USDT_MARKERS_C_O0, USDT_MARKERS_C_O2, USDT_MARKERS_CPP_O0, USDT_MARKERS_CPP_O2,
        USDT_SDT_FIXTURE, USDT_SDT_MARKERS_FIXTURE, USDT_COLD_LITERALS_SDT}) {
    const auto notes = notes_of(path);
    EXPECT_FALSE(notes.empty()) << path;
    for (const auto& note : notes) {
      SCOPED_TRACE(std::string(path) + " " + note.provider + ":" + note.name);
      parsed(note.arguments);
    }
  }
}

TEST(UsdtArguments, shouldReadTheSdtFixturesProbeArgument) {
  const auto notes = notes_of(USDT_SDT_FIXTURE);
  const UsdtNote* tick = find_note(notes, "fixture", "tick");
  ASSERT_NE(tick, nullptr);
  const auto arguments = parsed(tick->arguments);
  ASSERT_EQ(arguments.size(), 1u) << tick->arguments;  // STAP_PROBE1(fixture, tick, i), int i
  EXPECT_EQ(arguments[0].bitshift, 32) << tick->arguments;
  EXPECT_TRUE(arguments[0].is_signed) << tick->arguments;
}

TEST(UsdtArguments, shouldReadPythonsFunctionEntry) {
  const std::string python = "/usr/bin/python3.11";
  if (!std::filesystem::exists(python)) PROFILIS_SKIP_OUTSIDE_CI(python + " is not installed");
  const auto notes = notes_of(python);
  const UsdtNote* entry = find_note(notes, "python", "function__entry");
  ASSERT_NE(entry, nullptr);
  // Debian 12's python3.11 3.11.2: "8@%rbp 8@%r12 -4@%eax" (file name, function name, line).
  const auto arguments = parsed(entry->arguments);
  ASSERT_EQ(arguments.size(), 3u) << entry->arguments;
  EXPECT_EQ(arguments[0].bitshift, 0);
  EXPECT_EQ(arguments[2], reg(kRax, 4, true)) << entry->arguments;
  for (const auto& note : notes) parsed(note.arguments);
}

TEST(UsdtArguments, shouldReadPostgresQueryProbes) {
  const std::string postgres = "/usr/lib/postgresql/15/bin/postgres";
  if (!std::filesystem::exists(postgres)) {
    PROFILIS_SKIP_OUTSIDE_CI(postgres + " is not installed");
  }
  const auto notes = notes_of(postgres);
  const UsdtNote* start = find_note(notes, "postgresql", "query__start");
  ASSERT_NE(start, nullptr);
  const auto arguments = parsed(start->arguments);
  ASSERT_EQ(arguments.size(), 1u) << start->arguments;  // the query text's address
  EXPECT_EQ(arguments[0].bitshift, 0) << start->arguments;
  EXPECT_NE(arguments[0].kind, UsdtArgumentKind::kConstant) << start->arguments;
  // Its checkpoint probes pass globals, "-8@40+CheckpointStats(%rip)": a symbol, refused as by
  // libbpf.
  for (const auto& note : notes) {
    SCOPED_TRACE(note.provider + ":" + note.name + " " + note.arguments);
    if (note.arguments.find("(%rip)") == std::string::npos) {
      parsed(note.arguments);
    } else {
      EXPECT_NE(refused(note.arguments).find("symbol"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace profilis
