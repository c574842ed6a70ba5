// Process-name globs as the kernel runs them at each exec (bpf/process_rules.bpf.h): compiled here
// into position masks, so that the BPF side is a short loop the verifier accepts at once.
#pragma once

#include <string_view>

#include "profilis_records.h"

namespace profilis {

// `glob`: '*' and '?' special, shorter than PROFILIS_COMM_GLOB_MAX (checked by the option parser;
// longer ones are cut).
profilis_comm_glob compile_comm_glob(std::string_view glob);

// What the kernel computes for `comm` (at most PROFILIS_COMM_LEN - 1 characters are looked at, as
// the kernel keeps them), for the tests that hold the two to glob_match.
bool comm_glob_matches(const profilis_comm_glob& glob, std::string_view comm);

}  // namespace profilis
