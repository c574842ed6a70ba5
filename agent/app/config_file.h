// --config FILE: a JSON object whose keys are the long options, turned into the same text values
// the command line gives, so that one function per option checks both.
#pragma once

#include <string>
#include <string_view>

#include "agent/app/option_table.h"

namespace profilis {

// Options only the command line may give: they say what to do with the command line itself.
inline constexpr std::string_view kCommandLineOnly[] = {"help", "version", "config"};

// The values of a config file's text, by key: numbers as written, strings as they are, a flag's
// `true` as the bare flag (`false` as no flag), an array as the option repeated. Throws UsageError
// naming `file`: not JSON (with line and column), an unknown key (with the closest known one), a
// command-line-only key, or a value of a type the option does not take (with the type it takes).
// The values themselves are checked later, by the option's apply, as a flag's would be.
OptionValues config_values(std::string_view text, const std::string& file);

// config_values of the file at `path`. Throws UsageError naming it when it cannot be read or is
// larger than a config file could sensibly be.
OptionValues read_config_file(const std::string& path);

}  // namespace profilis
