#include "agent/inspect/usdt_arguments.h"

#include <asm/ptrace.h>  // the user-space struct pt_regs, as libbpf's usdt.c uses

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <optional>

namespace profilis {
namespace {

#if !defined(__x86_64__)
#error "x86-64 USDT argument syntax only"
#endif

struct Register {
  std::array<std::string_view, 4> names;  // 64, 32, 16 and 8 bits wide
  std::size_t offset;
};

// libbpf's table (usdt.c, calc_pt_regs_off): every width of a register reads the whole 64-bit
// slot, and the size prefix narrows it. No "%ah": it is not the low bits of its slot.
constexpr Register kRegisters[] = {
    {{"rip", "eip", "", ""}, offsetof(pt_regs, rip)},
    {{"rax", "eax", "ax", "al"}, offsetof(pt_regs, rax)},
    {{"rbx", "ebx", "bx", "bl"}, offsetof(pt_regs, rbx)},
    {{"rcx", "ecx", "cx", "cl"}, offsetof(pt_regs, rcx)},
    {{"rdx", "edx", "dx", "dl"}, offsetof(pt_regs, rdx)},
    {{"rsi", "esi", "si", "sil"}, offsetof(pt_regs, rsi)},
    {{"rdi", "edi", "di", "dil"}, offsetof(pt_regs, rdi)},
    {{"rbp", "ebp", "bp", "bpl"}, offsetof(pt_regs, rbp)},
    {{"rsp", "esp", "sp", "spl"}, offsetof(pt_regs, rsp)},
    {{"r8", "r8d", "r8w", "r8b"}, offsetof(pt_regs, r8)},
    {{"r9", "r9d", "r9w", "r9b"}, offsetof(pt_regs, r9)},
    {{"r10", "r10d", "r10w", "r10b"}, offsetof(pt_regs, r10)},
    {{"r11", "r11d", "r11w", "r11b"}, offsetof(pt_regs, r11)},
    {{"r12", "r12d", "r12w", "r12b"}, offsetof(pt_regs, r12)},
    {{"r13", "r13d", "r13w", "r13b"}, offsetof(pt_regs, r13)},
    {{"r14", "r14d", "r14w", "r14b"}, offsetof(pt_regs, r14)},
    {{"r15", "r15d", "r15w", "r15b"}, offsetof(pt_regs, r15)},
};

std::optional<std::int16_t> register_offset(std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (const auto& reg : kRegisters) {
    if (std::find(reg.names.begin(), reg.names.end(), name) != reg.names.end()) {
      return static_cast<std::int16_t>(reg.offset);
    }
  }
  return std::nullopt;
}

// A whole decimal or 0x-hexadecimal integer with an optional sign, as two's complement; a
// magnitude up to 2^64 - 1 (GCC writes unsigned constants that way).
std::optional<std::uint64_t> parse_integer(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty() || text[0] == '+' || text[0] == '-') return std::nullopt;
  std::uint64_t magnitude = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (err != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return negative ? ~magnitude + 1 : magnitude;
}

struct Parsed {
  std::optional<UsdtArgument> argument;
  std::string_view why;  // when refused
};

Parsed refuse(std::string_view why) { return {std::nullopt, why}; }

// "SIZE@OPERAND" or "OPERAND" (8 bytes).
Parsed parse_argument(std::string_view text) {
  UsdtArgument argument;
  int size = 8;
  if (const auto at = text.find('@'); at != std::string_view::npos) {
    std::string_view digits = text.substr(0, at);
    if (!digits.empty() && digits[0] == '-') {
      argument.is_signed = true;
      digits.remove_prefix(1);
    }
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size()) {
      return refuse("no size before '@'");
    }
    if (size != 1 && size != 2 && size != 4 && size != 8) return refuse("size not 1, 2, 4 or 8");
    text.remove_prefix(at + 1);
  }
  argument.bitshift = static_cast<std::uint8_t>(64 - 8 * size);
  if (text.empty()) return refuse("no operand");
  if (text.find(':') != std::string_view::npos) return refuse("segment register");
  if (text[0] == '$') {
    const auto value = parse_integer(text.substr(1));
    if (!value) return refuse("constant not an integer");
    argument.kind = UsdtArgumentKind::kConstant;
    argument.value = *value;
    return {argument, {}};
  }
  if (text[0] == '%') {
    const auto offset = register_offset(text.substr(1));
    if (!offset) return refuse("unknown register");
    argument.kind = UsdtArgumentKind::kRegister;
    argument.register_offset = *offset;
    return {argument, {}};
  }
  const auto open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')') return refuse("unknown operand");
  const std::string_view base = text.substr(open + 1, text.size() - open - 2);
  if (base.find(',') != std::string_view::npos) return refuse("indexed addressing");
  if (base.empty() || base[0] != '%') return refuse("no base register");
  const auto offset = register_offset(base.substr(1));
  if (!offset) return refuse("unknown register");
  const std::string_view displacement = text.substr(0, open);
  const auto value =
      displacement.empty() ? std::optional<std::uint64_t>(0) : parse_integer(displacement);
  if (!value) return refuse("displacement not an integer (a symbol?)");
  argument.kind = UsdtArgumentKind::kMemory;
  argument.register_offset = *offset;
  argument.value = *value;
  return {argument, {}};
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

UsdtArguments parse_usdt_arguments(std::string_view text) {
  UsdtArguments result;
  while (true) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    if (text.empty()) return result;
    std::size_t end = 0;
    while (end < text.size() && !is_space(text[end])) ++end;
    const std::string_view token = text.substr(0, end);
    text.remove_prefix(end);
    const Parsed parsed = parse_argument(token);
    if (!parsed.argument || result.arguments.size() == kMaxUsdtArguments) {
      const std::string why = parsed.argument ? "more than 12 arguments" : std::string(parsed.why);
      return {{}, "unsupported USDT argument '" + std::string(token) + "': " + why};
    }
    result.arguments.push_back(*parsed.argument);
  }
}

bool is_consistent(const UsdtArgument& argument) {
  const bool sized = argument.bitshift == 0 || argument.bitshift == 32 || argument.bitshift == 48 ||
                     argument.bitshift == 56;
  const bool known_register =
      std::any_of(std::begin(kRegisters), std::end(kRegisters), [&](const Register& reg) {
        return static_cast<std::int16_t>(reg.offset) == argument.register_offset;
      });
  switch (argument.kind) {
    case UsdtArgumentKind::kConstant:
      return sized && argument.register_offset == 0;
    case UsdtArgumentKind::kRegister:
      return sized && known_register && argument.value == 0;
    case UsdtArgumentKind::kMemory:
      return sized && known_register;
  }
  return false;
}

}  // namespace profilis
