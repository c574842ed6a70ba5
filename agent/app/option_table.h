// Every option of the tracing command line, once: its name, its help, and the one function that
// checks a value, given as text, and stores it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "agent/app/cli.h"

namespace profilis {

enum class Arity {
  kOne,         // --opt VALUE, once
  kRepeatable,  // --opt VALUE, any number of times
  kFlag,        // --opt alone means `flag_value`; --opt=VALUE gives another
};

struct OptionSpec {
  std::string_view key;              // long name without "--": "jsonl-dir"
  std::string_view short_name = {};  // "p" for -p, or empty
  std::string_view value_name = {};  // PID, DIR, DURATION… in --help
  Arity arity;
  std::string_view flag_value = {};    // kFlag: what the bare flag means
  std::string_view default_text = {};  // shown in --help; the same as Options{} (a test checks)
  std::string_view help;
  // Checks one value (per occurrence, for kRepeatable) and stores it. Throws UsageError without
  // naming the option.
  void (*apply)(Options& options, const std::string& value);
};

std::span<const OptionSpec> option_table();

// The spec whose key is `key`, or nullptr.
const OptionSpec* find_option(std::string_view key);

}  // namespace profilis
