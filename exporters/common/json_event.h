// The one JSON encoding of an event, shared by the JSONL and console sinks.
#pragma once

#include <string>
#include <string_view>

#include "exporters/common/event.h"

namespace profilis {

enum class JsonStyle { kCompact, kPretty };

// Appends `text` as a JSON string literal. Whatever the bytes, the result is valid JSON and valid
// UTF-8: control characters and NUL are escaped, and each byte that is not part of a well-formed
// UTF-8 sequence becomes U+FFFD.
void append_json_string(std::string& out, std::string_view text);

// Appends one event as a JSON object in the field order of docs/design.md §3, followed by a
// newline.
void append_json_event(std::string& out, const Event& event, JsonStyle style = JsonStyle::kCompact);

}  // namespace profilis
