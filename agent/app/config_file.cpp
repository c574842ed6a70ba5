#include "agent/app/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "agent/app/config_json.h"
#include "agent/common/edit_distance.h"
#include "agent/common/errors.h"

namespace profilis {
namespace {

// Far more than every option written out; what is larger is some other file (or /dev/zero).
constexpr std::size_t kMaxConfigBytes = 1 << 20;

std::string key_in(const std::string& file, std::string_view key) {
  return file + ": " + json_quoted(key);
}

[[noreturn]] void unknown_key(const std::string& file, std::string_view key) {
  const auto& table = option_table();
  const auto closest = std::min_element(table.begin(), table.end(), [&](auto& a, auto& b) {
    return edit_distance(key, a.key) < edit_distance(key, b.key);
  });
  // Further than a few typos away, a suggestion would only puzzle.
  const bool close = edit_distance(key, closest->key) <= std::max<std::size_t>(2, key.size() / 3);
  throw UsageError(key_in(file, key) + ": unknown option" +
                   (close ? "; did you mean \"" + std::string(closest->key) + "\"?" : "") +
                   " (the keys are the long options without --, see --help)");
}

std::string kind_name(JsonKind kind) {
  switch (kind) {
    case JsonKind::kString:
      return "a string";
    case JsonKind::kNumber:
      return "a number";
    case JsonKind::kBool:
      return "a boolean";
    case JsonKind::kNull:
      return "null";
    case JsonKind::kArray:
      return "an array";
    case JsonKind::kObject:
      return "an object";
  }
  return "something else";
}

bool accepts(const OptionSpec& spec, JsonKind kind) {
  switch (kind) {
    case JsonKind::kString:
      return (spec.json_types & kJsonString) != 0;
    case JsonKind::kNumber:
      return (spec.json_types & kJsonNumber) != 0;
    case JsonKind::kBool:
      return (spec.json_types & kJsonBool) != 0;
    default:
      return false;
  }
}

// "a number or an array of numbers", "a boolean or a string".
std::string expected_types(const OptionSpec& spec) {
  std::string text, plural;
  const auto add = [&](unsigned type, const char* one, const char* many) {
    if ((spec.json_types & type) == 0) return;
    text += (text.empty() ? "" : " or ") + std::string(one);
    plural += (plural.empty() ? "" : " or ") + std::string(many);
  };
  add(kJsonBool, "a boolean", "booleans");
  add(kJsonNumber, "a number", "numbers");
  add(kJsonString, "a string", "strings");
  return spec.arity == Arity::kRepeatable ? text + " or an array of " + plural : text;
}

std::vector<std::string> values_of(const JsonEntry& entry, const OptionSpec& spec,
                                   const std::string& file) {
  const auto wrong = [&](const std::string& got) {
    return UsageError(key_in(file, entry.key) + ": expected " + expected_types(spec) + ", got " +
                      got);
  };
  if (entry.array && spec.arity != Arity::kRepeatable) throw wrong("an array");
  std::vector<std::string> values;
  for (const JsonScalar& item : entry.items) {
    if (!accepts(spec, item.kind)) {
      throw wrong(entry.array ? "an array holding " + kind_name(item.kind) : kind_name(item.kind));
    }
    if (item.kind == JsonKind::kBool && spec.arity == Arity::kFlag) {
      if (item.text == "true") values.emplace_back(spec.flag_value);
    } else {
      values.push_back(item.text);
    }
  }
  return values;
}

std::string read_text(const std::string& path) {
  const auto fail = [&](const std::string& why) {
    return UsageError("config file " + path + ": " + why);
  };
  struct File {
    int fd;
    ~File() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw fail(errno_message("cannot open", errno));
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n == 0) return text;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(errno_message("cannot read", errno));
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigBytes) throw fail("larger than 1 MiB: not a config file");
  }
}

}  // namespace

OptionValues config_values(std::string_view text, const std::string& file) {
  OptionValues values;
  for (const JsonEntry& entry : read_json_object(text, file)) {
    const auto cli_only = std::find(std::begin(kCommandLineOnly), std::end(kCommandLineOnly),
                                    entry.key) != std::end(kCommandLineOnly);
    if (cli_only) {
      throw UsageError(key_in(file, entry.key) + ": a command-line option, not for a config file");
    }
    const OptionSpec* spec = find_option(entry.key);
    if (spec == nullptr) unknown_key(file, entry.key);
    auto given = values_of(entry, *spec, file);
    if (!given.empty()) values[entry.key] = std::move(given);
  }
  return values;
}

OptionValues read_config_file(const std::string& path) {
  return config_values(read_text(path), path);
}

}  // namespace profilis
