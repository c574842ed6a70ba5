// Reading samples out of a Prometheus text exposition, for tests that compare them with events.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace profilis::testutil {

// The value of the sample whose line starts with `series` ("name{labels}" as rendered, or just the
// name for a series without labels); nothing when there is no such line.
std::optional<double> sample(const std::string& text, const std::string& series);

// How many samples of family `name` (without suffixes) with labels the exposition has.
std::size_t series_count(const std::string& text, const std::string& name);

}  // namespace profilis::testutil
