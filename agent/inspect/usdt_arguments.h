// The arguments of a USDT note ("-4@%edi 8@-8(%rbp) 4@$5", x86-64 SystemTap SDT syntax) as
// libbpf's BPF side (<bpf/usdt.bpf.h>, bpf_usdt_arg) reads them: where each value is, relative to
// the user-space registers (struct pt_regs) at the probe site, and how to narrow it to its size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace profilis {

// In the order of enum __bpf_usdt_arg_type.
enum class UsdtArgumentKind : std::uint8_t {
  kConstant,  // "$-5": the value is `value`
  kRegister,  // "%rdi": the register at `register_offset`
  kMemory,    // "-8(%rbp)": the memory at that register plus `value`
};

struct UsdtArgument {
  UsdtArgumentKind kind = UsdtArgumentKind::kConstant;
  std::uint64_t value = 0;           // the constant, or the memory offset (two's complement)
  std::int16_t register_offset = 0;  // offsetof(struct pt_regs, …); 0 for a constant
  bool is_signed = false;            // a negative size ("-4@…") is a signed value
  std::uint8_t bitshift = 0;         // 64 - 8 × size: what bpf_usdt_arg shifts out and back

  bool operator==(const UsdtArgument&) const = default;
};

// libbpf's limit (BPF_USDT_MAX_ARG_CNT).
constexpr std::size_t kMaxUsdtArguments = 12;

struct UsdtArguments {
  std::vector<UsdtArgument> arguments;  // empty on error
  std::string error;                    // empty when parsed: names the argument refused, and why
  bool ok() const { return error.empty(); }
};

// Every argument, or an error for any form bpf_usdt_arg cannot read: sizes other than 1, 2, 4, 8;
// segment registers ("%fs:40"), indexed addressing ("(%rax,%rbx,8)"), symbols ("buf(%rip)"),
// unknown registers, more than kMaxUsdtArguments. An argument without a size is 8 bytes.
UsdtArguments parse_usdt_arguments(std::string_view text);

// Whether `argument` is something parse_usdt_arguments can return (for the fuzzer).
bool is_consistent(const UsdtArgument& argument);

}  // namespace profilis
