#include "agent/targets/usdt_targets.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <string_view>
#include <utility>

#include "agent/common/errors.h"
#include "agent/inspect/usdt_notes.h"

namespace profilis {

std::string UsdtSpec::event_name() const {
  return provider + ":" + name + (end.empty() ? "" : "," + end);
}

UsdtSpec parse_usdt_spec(std::string_view spec) {
  const auto bad = [&](const std::string& why) {
    return UsageError("--usdt '" + std::string(spec) + "': " + why +
                      " (expected [OBJECT:]PROVIDER:NAME or [OBJECT:]PROVIDER:START,END)");
  };
  const auto last = spec.rfind(':');
  if (last == std::string_view::npos) throw bad("no provider");
  const auto before = spec.substr(0, last);
  const auto provider_start = before.rfind(':');
  UsdtSpec parsed;
  if (provider_start != std::string_view::npos) {
    parsed.object = std::string(before.substr(0, provider_start));
    if (parsed.object.empty()) throw bad("empty object");
  }
  parsed.provider = std::string(
      provider_start == std::string_view::npos ? before : before.substr(provider_start + 1));
  const auto names = spec.substr(last + 1);
  const auto comma = names.find(',');
  parsed.name = std::string(names.substr(0, comma));
  if (comma != std::string_view::npos) {
    parsed.end = std::string(names.substr(comma + 1));
    if (parsed.end.empty() || parsed.end.find(',') != std::string::npos) {
      throw bad("a pair is START,END: two probe names");
    }
  }
  if (parsed.provider.empty()) throw bad("empty provider");
  if (parsed.name.empty()) throw bad("empty probe name");
  return parsed;
}

namespace {

std::string probe_list(const std::vector<UsdtNote>& notes) {
  std::set<std::string> names;
  for (const auto& note : notes) names.insert(note.provider + ":" + note.name);
  if (names.empty()) return "it declares no USDT probes";
  std::string out = "it declares: ";
  std::size_t shown = 0;
  for (const auto& name : names) {
    if (shown++ == 20) {
      out += ", … (" + std::to_string(names.size()) + " in all; see `profilis-agent list`)";
      break;
    }
    if (shown > 1) out += ", ";
    out += name;
  }
  return out;
}

// The argument notes of include/profilis/usdt.h's markers, whose "D" and "S" constraints put the
// first argument in %rdi and the second in %rsi.
constexpr std::pair<std::string_view, std::string_view> kRegisterArguments[] = {
    {"req_begin", "8@%rdi 8@%rsi"}, {"req_end", "-8@%rdi"},        {"fn_begin", "8@%rdi"},
    {"fn_end", "8@%rdi -8@%rsi"},   {"db_begin", "8@%rdi 8@%rsi"}, {"db_end", "-8@%rdi -8@%rsi"}};

bool in_registers(const UsdtNote& note) {
  return std::any_of(std::begin(kRegisterArguments), std::end(kRegisterArguments),
                     [&](const auto& marker) {
                       return marker.first == note.name && marker.second == note.arguments;
                     });
}

}  // namespace

bool has_postgres_query_probes(const std::vector<UsdtNote>& notes) {
  return has_usdt_probe(notes, "postgresql", "query__start") &&
         has_usdt_probe(notes, "postgresql", "query__done");
}

std::vector<MarkerProbe> marker_probes(const std::vector<UsdtNote>& notes) {
  std::vector<MarkerProbe> markers;
  for (const auto& note : notes) {
    if (note.provider != "profilis") continue;
    const std::uint64_t semaphore = note.semaphore_offset.value_or(0);
    auto marker = std::find_if(markers.begin(), markers.end(),
                               [&](const MarkerProbe& m) { return m.name == note.name; });
    if (marker == markers.end()) {
      marker = markers.insert(markers.end(), MarkerProbe{.name = note.name,
                                                         .site_offsets = {},
                                                         .semaphore_offset = semaphore,
                                                         .register_arguments = true});
    }
    const bool located =
        note.site_offset && (note.semaphore == 0 || note.semaphore_offset.has_value());
    if (!located || !in_registers(note) || semaphore != marker->semaphore_offset) {
      marker->register_arguments = false;
    }
    if (note.site_offset) marker->site_offsets.push_back(*note.site_offset);
  }
  return markers;
}

namespace {

// `where` ends the message when a probe is missing: " (pid 42)", or "" for a file.
UsdtProbe usdt_probe_in(pid_t pid, ObjectFile file, const UsdtSpec& spec,
                        const std::string& where) {
  const auto notes = value_or_usage_error(read_usdt_notes(file.path));
  for (const auto* name : {&spec.name, &spec.end}) {
    if (name->empty() || has_usdt_probe(notes, spec.provider, *name)) continue;
    throw UsageError("no USDT probe " + spec.provider + ":" + *name + " in " + file.object + where +
                     "; " + probe_list(notes));
  }
  return UsdtProbe{
      .pid = pid, .path = std::move(file.path), .object = std::move(file.object), .spec = spec};
}

}  // namespace

UsdtProbe resolve_usdt_probe(const TracedProcess& process, const UsdtSpec& spec) {
  return usdt_probe_in(process.pid, locate_object_file(process, spec.object), spec,
                       " (pid " + std::to_string(process.pid) + ")");
}

UsdtProbe resolve_usdt_probe(const FileTarget& file, const UsdtSpec& spec) {
  if (!spec.object.empty()) {
    throw UsageError("--usdt '" + spec.object + ":" + spec.event_name() +
                     "': with --binary, give PROVIDER:NAME alone; it is looked up in each --binary "
                     "file (" +
                     file.object + ")");
  }
  return usdt_probe_in(-1, ObjectFile{.object = file.object, .path = file.path}, spec, "");
}

std::vector<MarkerFile> find_marker_files(const TracedProcess& process) {
  std::vector<std::string> objects = {""};  // the main executable first
  for (const auto& mapped : process.mapped_files) {
    if (mapped != process.exe) objects.push_back(mapped);
  }
  std::vector<MarkerFile> found;
  for (const auto& object : objects) {
    auto file = locate_object_file(process, object);  // a mapped path: always found
    // Markers are looked for, not asked for: a file that is not ELF (a locale archive, a font) or
    // is gone since the maps were read simply has none.
    const auto notes = read_usdt_notes(file.path);
    if (!notes) continue;
    auto markers = marker_probes(*notes);
    if (markers.empty()) continue;
    auto read_only = read_only_run(process.maps, file.object);
    found.push_back({.file = std::move(file),
                     .markers = std::move(markers),
                     .read_only = std::move(read_only)});
  }
  return found;
}

}  // namespace profilis
