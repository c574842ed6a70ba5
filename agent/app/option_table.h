// Every option of the tracing command line, once: its name (also its key in a config file), its
// help, what a config file may give for it, and the one function that checks a value and stores
// it. The command line and the config file both hand their values, as text, to that function.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/app/cli.h"

namespace profilis {

enum class Arity {
  kOne,         // --opt VALUE, once
  kRepeatable,  // --opt VALUE, any number of times; a config file gives one value or an array
  kFlag,        // --opt alone means `flag_value`; --opt=VALUE gives another
};

// What a config file may give for an option (a bit set); numbers reach `apply` as written.
enum JsonTypes : unsigned { kJsonString = 1, kJsonNumber = 2, kJsonBool = 4 };

struct OptionSpec {
  std::string_view key;              // long name without "--": "jsonl-dir"
  std::string_view short_name = {};  // "p" for -p, or empty
  std::string_view value_name = {};  // PID, DIR, DURATION… in --help
  Arity arity;
  unsigned json_types;                 // JsonTypes
  std::string_view flag_value = {};    // kFlag: what the bare flag means
  std::string_view default_text = {};  // shown in --help; the same as Options{} (a test checks)
  std::string_view help;
  // Checks one value (per occurrence, for kRepeatable) and stores it. Throws UsageError without
  // naming the option.
  void (*apply)(Options& options, const std::string& value);
};

std::span<const OptionSpec> option_table();

// The values given for options, by key, as text: what `apply` takes. A flag given alone holds its
// flag_value.
using OptionValues = std::map<std::string, std::vector<std::string>, std::less<>>;

// The spec whose key is `key`, or nullptr.
const OptionSpec* find_option(std::string_view key);

}  // namespace profilis
