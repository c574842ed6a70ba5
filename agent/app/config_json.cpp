#include "agent/app/config_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/common/errors.h"

namespace profilis {
namespace {

using Json = nlohmann::json;

// "FILE:LINE:COLUMN" of the character nlohmann's parser stopped at, as nlohmann counts: `position`
// is the number of characters read, that one included, and the end of the text counts as one more.
std::string location(std::string_view text, const std::string& file, std::size_t position) {
  const std::string_view read = text.substr(0, std::min(position, text.size()));
  const auto line = 1 + std::count(read.begin(), read.end(), '\n');
  const std::size_t last_newline = read.rfind('\n');
  const std::size_t column =
      (last_newline == std::string_view::npos ? read.size() : read.size() - last_newline - 1) +
      (position > text.size() ? position - text.size() : 0);
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line L, column
// C: " preamble, which the location already says.
std::string syntax_error(const std::string& what) {
  const std::size_t column = what.find("column ");
  const std::size_t colon = what.find(": ", column == std::string::npos ? 0 : column);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

// SAX events of nlohmann/json into JsonEntry values. Depth 1 is inside the top-level object, depth
// 2 inside a member's array or object; what lies deeper is only counted.
class FlatObjectReader {
 public:
  FlatObjectReader(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  bool null() { return scalar(JsonKind::kNull, ""); }
  bool boolean(bool value) { return scalar(JsonKind::kBool, value ? "true" : "false"); }
  bool number_integer(Json::number_integer_t value) {
    return scalar(JsonKind::kNumber, std::to_string(value));
  }
  bool number_unsigned(Json::number_unsigned_t value) {
    return scalar(JsonKind::kNumber, std::to_string(value));
  }
  // Integers too large for 64 bits arrive here too: the text keeps them exact.
  bool number_float(Json::number_float_t, const std::string& text) {
    return scalar(JsonKind::kNumber, text);
  }
  bool string(std::string& value) {
    check_no_nul(value);
    return scalar(JsonKind::kString, value);
  }
  bool binary(Json::binary_t&) { return scalar(JsonKind::kNull, ""); }  // not in JSON text
  bool start_object(std::size_t) { return open(JsonKind::kObject); }
  bool start_array(std::size_t) { return open(JsonKind::kArray); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string& key) {
    check_no_nul(key);
    if (depth_ != 1) return true;
    const bool seen = std::any_of(entries_.begin(), entries_.end(),
                                  [&](const JsonEntry& entry) { return entry.key == key; });
    if (seen) throw UsageError(file_ + ": key " + json_quoted(key) + " is given twice");
    entries_.push_back({key, false, {}});
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const Json::exception& error) {
    throw UsageError(location(text_, file_, position) +
                     ": not valid JSON: " + syntax_error(error.what()));
  }

  std::vector<JsonEntry> take() { return std::move(entries_); }

 private:
  bool open(JsonKind kind) {
    if (depth_ == 0 && kind != JsonKind::kObject) not_an_object();
    if (depth_ == 1) {
      if (kind == JsonKind::kArray) {
        entries_.back().array = true;
      } else {
        entries_.back().items.push_back({kind, ""});
      }
    } else if (depth_ == 2 && entries_.back().array) {
      entries_.back().items.push_back({kind, ""});
    }
    ++depth_;
    return true;
  }

  bool close() {
    --depth_;
    return true;
  }

  bool scalar(JsonKind kind, std::string text) {
    if (depth_ == 0) not_an_object();
    if (depth_ == 1 || (depth_ == 2 && entries_.back().array)) {
      entries_.back().items.push_back({kind, std::move(text)});
    }
    return true;
  }

  [[noreturn]] void not_an_object() const {
    throw UsageError(file_ +
                     ": expected a JSON object with options as keys, e.g. "
                     "{\"pid\": [42], \"jsonl-dir\": \"/var/log/profilis\"}");
  }

  void check_no_nul(const std::string& text) const {
    if (text.find('\0') != std::string::npos) {
      throw UsageError(file_ + ": a string holds a NUL character (\\u0000)");
    }
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t depth_ = 0;
  std::vector<JsonEntry> entries_;
};

}  // namespace

std::string json_quoted(std::string_view text) {
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::vector<JsonEntry> read_json_object(std::string_view text, const std::string& file) {
  FlatObjectReader reader(text, file);
  Json::sax_parse(text.begin(), text.end(), &reader);
  return reader.take();
}

}  // namespace profilis
