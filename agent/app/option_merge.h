// Where the command line and a config file meet: which values count, and the one place every value
// is checked and stored.
#pragma once

#include <string>

#include "agent/app/cli.h"
#include "agent/app/option_table.h"

namespace profilis {

// For each option, the command line's values when it gave the option, else the file's, else the
// default: a repeatable option given on the command line replaces the file's list instead of adding
// to it, so that a flag always says the whole truth about its option. Each value goes through the
// option's apply; a failure names the flag (--queue-size) or the file and key (FILE: "queue-size").
// Throws UsageError, also when nothing says what to trace.
Options merge_options(const OptionValues& command_line, const OptionValues& file,
                      const std::string& file_name);

}  // namespace profilis
