// Globs as the kernel runs them (bpf/globs.bpf.h): process names at each exec (--include-comm,
// --exclude-comm) and Python function and file names at each call (--python-fn), compiled here
// into position masks, so that the BPF side is one short step per character.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "agent/targets/python_targets.h"
#include "profilis_records.h"

namespace profilis {

// `glob`: '*' and '?' special, shorter than PROFILIS_GLOB_MAX once runs of stars are collapsed
// (collapse_stars; the option parsers refuse longer globs, and longer ones are cut).
profilis_glob compile_kernel_glob(std::string_view glob);

// What the kernel computes for `name`, looking at its first `max_length` characters at most (a
// process name: 15, as the kernel keeps it), for the tests that hold the two to glob_match.
bool kernel_glob_matches(const profilis_glob& glob, std::string_view name,
                         std::size_t max_length = std::string_view::npos);

// The --python-fn specs as the kernel filters Python calls (the first PROFILIS_MAX_PYTHON_FNS; the
// option parser refuses more).
profilis_python_filters compile_python_filters(const std::vector<PythonFnSpec>& specs);

}  // namespace profilis
