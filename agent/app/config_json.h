// Reads a config file's text as one flat JSON object (nlohmann/json's SAX parser): each key with
// its value as text, numbers exactly as written. Knows nothing about the options.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace profilis {

enum class JsonKind { kString, kNumber, kBool, kNull, kArray, kObject };

struct JsonScalar {
  JsonKind kind;
  // kString: the string; kNumber: the number as written ("1.5e3", "99999999999999999999");
  // kBool: "true" or "false"; empty for the rest (their content is not kept).
  std::string text;
};

struct JsonEntry {
  std::string key;
  bool array = false;
  std::vector<JsonScalar> items;  // one for a scalar; the elements of an array
};

// `text` as a JSON string ("jsonl-dir", "a\nb"), so that a message quoting a key stays one line.
std::string json_quoted(std::string_view text);

// The members of the top-level object, in file order. Throws UsageError naming `file` for text
// that is not JSON (with the line and column of the error), a top level that is not an object, a
// key given twice, and a string holding a NUL character (no command line argument can).
std::vector<JsonEntry> read_json_object(std::string_view text, const std::string& file);

}  // namespace profilis
