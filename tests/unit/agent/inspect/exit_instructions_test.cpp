#include "agent/inspect/exit_instructions.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace profilis {
namespace {

constexpr std::uint64_t kEntry = 0x1000;
constexpr std::uint64_t kOther = 0x2000;  // another function's start

ExitRules rules(bool own_entry_jump_is_exit = true) {
  return {.is_function_start = [](std::uint64_t at) { return at == kOther; },
          .own_entry_jump_is_exit = own_entry_jump_is_exit};
}

ExitInstructions scan(const std::vector<std::uint8_t>& body, const ExitRules& with = rules()) {
  return find_exit_instructions({{kEntry, body}}, with);
}

// rel32 of a 5-byte jmp/call (or 6-byte jcc) at `at` to `to`.
std::vector<std::uint8_t> rel32(std::uint64_t at, std::size_t length, std::uint64_t to) {
  const auto rel = static_cast<std::uint32_t>(to - (at + length));
  return {static_cast<std::uint8_t>(rel), static_cast<std::uint8_t>(rel >> 8),
          static_cast<std::uint8_t>(rel >> 16), static_cast<std::uint8_t>(rel >> 24)};
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

TEST(FindExitInstructions, shouldFindTheRetOfAFunctionThatCalls) {
  // push rbp; mov rbp,rsp; call 0x2000; pop rbp; ret
  const auto code =
      concat({{0x55, 0x48, 0x89, 0xe5, 0xe8}, rel32(kEntry + 4, 5, kOther), {0x5d, 0xc3}});
  const auto found = scan(code);
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 1u);
  EXPECT_EQ(found.exits[0].address, kEntry + 10);
  EXPECT_EQ(found.exits[0].condition, PROFILIS_EXIT_ALWAYS);
  EXPECT_EQ(found.calls, 1u);
  EXPECT_EQ(found.tail_jumps, 0u);
}

TEST(FindExitInstructions, shouldTakeEveryRetFormAsAnExit) {
  // ret imm16; rep ret; bnd ret
  const auto found = scan({0x90, 0xc2, 0x08, 0x00, 0xf3, 0xc3, 0xf2, 0xc3});
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 3u);
  EXPECT_EQ(found.exits[0].address, kEntry + 1);
  EXPECT_EQ(found.exits[1].address, kEntry + 4);
  EXPECT_EQ(found.exits[2].address, kEntry + 6);
}

TEST(FindExitInstructions, shouldTakeAJumpToAFunctionStartAsATailCall) {
  // nop; jmp 0x2000
  const auto code = concat({{0x90, 0xe9}, rel32(kEntry + 1, 5, kOther)});
  const auto found = scan(code);
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 1u);
  EXPECT_EQ(found.exits[0].address, kEntry + 1);
  EXPECT_EQ(found.tail_jumps, 1u);
}

TEST(FindExitInstructions, shouldGiveAConditionalTailCallItsCondition) {
  // test edi,edi; jne 0x2000; ret
  const auto code = concat({{0x85, 0xff, 0x0f, 0x85}, rel32(kEntry + 2, 6, kOther), {0xc3}});
  const auto found = scan(code);
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 2u);
  EXPECT_EQ(found.exits[0].address, kEntry + 2);
  EXPECT_EQ(found.exits[0].condition, PROFILIS_EXIT_IF_CC + 5u);  // ne
  EXPECT_EQ(found.exits[1].condition, PROFILIS_EXIT_ALWAYS);
}

TEST(FindExitInstructions, shouldGiveEveryConditionCodeItsOwnCondition) {
  for (std::uint8_t cc = 0; cc < 16; ++cc) {
    const auto code = concat(
        {{0x90, 0x0f, static_cast<std::uint8_t>(0x80 + cc)}, rel32(kEntry + 1, 6, kOther), {0xc3}});
    const auto found = scan(code);
    ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
    ASSERT_EQ(found.exits.size(), 2u);
    EXPECT_EQ(found.exits[0].condition, PROFILIS_EXIT_IF_CC + cc) << "cc " << int(cc);
  }
}

TEST(FindExitInstructions, shouldTellJrcxzFromJecxz) {
  // jrcxz rel8 and jecxz (0x67 prefix) to a function start placed right after: 0x1000 + ...
  const ExitRules ends_at_other = {
      .is_function_start = [](std::uint64_t at) { return at == kEntry + 0x40; }};
  const auto found = find_exit_instructions(
      {{kEntry, std::vector<std::uint8_t>{0x90, 0xe3, 0x3d, 0x67, 0xe3, 0x3a, 0xc3}}},
      ends_at_other);
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 3u);
  EXPECT_EQ(found.exits[0].condition, PROFILIS_EXIT_IF_RCX_ZERO);
  EXPECT_EQ(found.exits[1].condition, PROFILIS_EXIT_IF_ECX_ZERO);
}

TEST(FindExitInstructions, shouldKeepJumpsInsideTheFunctionAndItsColdFragment) {
  // body: nop; jbe cold; ret    cold: call 0x2000; jmp back to the ret; ret
  constexpr std::uint64_t kCold = 0x3000;
  const auto body = concat({{0x90, 0x0f, 0x86}, rel32(kEntry + 1, 6, kCold), {0xc3}});
  const auto cold =
      concat({{0xe8}, rel32(kCold, 5, kOther), {0xe9}, rel32(kCold + 5, 5, kEntry + 7), {0xc3}});
  const auto found = find_exit_instructions({{kEntry, body}, {kCold, cold}}, rules());
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 2u);
  EXPECT_EQ(found.exits[0].address, kEntry + 7);
  EXPECT_EQ(found.exits[1].address, kCold + 10);
  EXPECT_EQ(found.calls, 1u);
  EXPECT_EQ(found.tail_jumps, 0u);
}

TEST(FindExitInstructions, shouldBeUncertainOfAnIndirectJump) {
  const auto found = scan({0x90, 0xff, 0xe0, 0xc3});  // nop; jmp rax; ret
  EXPECT_NE(found.uncertain.find("indirect jump at 0x1001"), std::string::npos) << found.uncertain;
}

TEST(FindExitInstructions, shouldBeUncertainOfAJumpOutToNoFunctionStart) {
  const auto code = concat({{0x90, 0xe9}, rel32(kEntry + 1, 5, kOther + 3)});
  const auto found = scan(code);
  EXPECT_NE(found.uncertain.find("neither inside it nor a function's start"), std::string::npos)
      << found.uncertain;
}

TEST(FindExitInstructions, shouldBeUncertainOfAJumpIntoAnInstruction) {
  // jmp into the middle of the 5-byte mov; mov eax, imm32; ret
  const auto found = scan({0xeb, 0x01, 0xb8, 0x01, 0x02, 0x03, 0x04, 0xc3});
  EXPECT_NE(found.uncertain.find("middle of an instruction"), std::string::npos) << found.uncertain;
}

TEST(FindExitInstructions, shouldBeUncertainOfBytesThatDoNotDecode) {
  const auto found = scan({0x90, 0x06, 0xc3});  // 0x06 (push es) does not exist in 64-bit mode
  EXPECT_NE(found.uncertain.find("do not decode"), std::string::npos) << found.uncertain;
}

TEST(FindExitInstructions, shouldBeUncertainOfALoopThatLeaves) {
  const ExitRules other_follows = {
      .is_function_start = [](std::uint64_t at) { return at == kEntry + 0x40; }};
  const auto found = find_exit_instructions(
      {{kEntry, std::vector<std::uint8_t>{0x90, 0xe2, 0x3d, 0xc3}}}, other_follows);
  EXPECT_NE(found.uncertain.find("loop instruction"), std::string::npos) << found.uncertain;
}

TEST(FindExitInstructions, shouldReportAFirstInstructionThatLeaves) {
  const auto code = concat({{0xe9}, rel32(kEntry, 5, kOther)});
  const auto found = scan(code);
  ASSERT_TRUE(found.uncertain.empty()) << found.uncertain;
  ASSERT_EQ(found.exits.size(), 1u);
  EXPECT_EQ(found.exits[0].address, kEntry);
  EXPECT_EQ(found.exits[0].target, kOther);
  EXPECT_NE(scan({}).uncertain.find("no code"), std::string::npos);
}

TEST(FindExitInstructions, shouldTakeAJumpToItsOwnEntryAsATailCallOnlyWhereTold) {
  // Go's prologue: cmp; jbe morestack; ret; morestack: call 0x2000; jmp entry
  const auto code = concat({{0x90, 0x76, 0x01, 0xc3, 0xe8},
                            rel32(kEntry + 4, 5, kOther),
                            {0xe9},
                            rel32(kEntry + 9, 5, kEntry)});
  const auto go = scan(code, rules(false));
  ASSERT_TRUE(go.uncertain.empty()) << go.uncertain;
  ASSERT_EQ(go.exits.size(), 1u);
  EXPECT_EQ(go.exits[0].address, kEntry + 3);
  const auto c = scan(code, rules(true));
  ASSERT_TRUE(c.uncertain.empty()) << c.uncertain;
  ASSERT_EQ(c.exits.size(), 2u);
  EXPECT_EQ(c.exits[1].address, kEntry + 9);
  EXPECT_EQ(c.tail_jumps, 1u);
}

}  // namespace
}  // namespace profilis
