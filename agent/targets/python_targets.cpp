#include "agent/targets/python_targets.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "agent/common/errors.h"
#include "agent/common/glob.h"
#include "agent/inspect/elf_file.h"
#include "agent/inspect/usdt_notes.h"
#include "profilis_records.h"

namespace profilis {
namespace {

void check_glob(std::string_view spec, std::string_view glob, const char* what) {
  const auto bad = [&](const std::string& why) {
    return UsageError("--python-fn '" + std::string(spec) + "': " + why +
                      " (expected [FILE_GLOB:]FUNC_GLOB)");
  };
  if (glob.empty()) throw bad(std::string("empty ") + what + " glob");
  if (collapse_stars(glob).size() >= PROFILIS_GLOB_MAX) {
    throw bad(std::string("the ") + what + " glob is longer than " +
              std::to_string(PROFILIS_GLOB_MAX - 1) + " characters");
  }
  if (glob.find_first_of("[]\\") != std::string_view::npos) {
    throw bad("only * and ? are special in a glob");
  }
}

// The file and function name arguments of Debian's python3.11 (then the line, -4@%eax).
constexpr std::string_view kRegisterArguments = "8@%rbp 8@%r12 ";

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool looks_like_python(const TracedProcess& process) {
  if (base_name(process.exe).starts_with("python")) return true;
  return std::any_of(
      process.mapped_files.begin(), process.mapped_files.end(),
      [](const std::string& file) { return base_name(file).starts_with("libpython"); });
}

// The probes of the file at `path`, or nothing when it lacks either.
std::optional<PythonProbes> probes_in(pid_t pid, ObjectFile file) {
  const auto notes = read_usdt_notes(file.path);
  if (!notes || !has_usdt_probe(*notes, "python", "function__entry") ||
      !has_usdt_probe(*notes, "python", "function__return")) {
    return std::nullopt;
  }
  PythonProbes probes;
  probes.pid = pid;
  probes.path = std::move(file.path);
  probes.object = std::move(file.object);
  probes.register_arguments = true;
  for (const UsdtNote& note : *notes) {
    if (note.provider != "python") continue;
    if (note.name == "line" && note.semaphore_offset)
      probes.line_semaphore = *note.semaphore_offset;
    if (note.name != "function__entry" && note.name != "function__return") continue;
    const bool located =
        note.site_offset && (note.semaphore == 0 || note.semaphore_offset.has_value());
    if (!located || !note.arguments.starts_with(kRegisterArguments)) {
      probes.register_arguments = false;
      continue;
    }
    auto& sites = note.name == "function__entry" ? probes.entry_sites : probes.return_sites;
    sites.offsets.push_back(*note.site_offset);
    sites.semaphores.push_back(note.semaphore_offset.value_or(0));
  }
  if (probes.line_semaphore != 0) {
    const auto init = value_or_usage_error(section_file_offset(probes.path, ".init"));
    if (!init) {
      throw UsageError("--python-fn: " + probes.object +
                       " has no .init section, where the agent turns on python:line");
    }
    probes.enable_offset = *init;
  }
  return probes;
}

std::string no_probes(const std::string& executable, const std::string& where) {
  return "--python-fn: " + executable + where +
         " has no python:function__entry/function__return USDT probes: this Python was built "
         "without --with-dtrace (Debian's /usr/bin/python3.11 has them; `profilis-agent list "
         "--pid PID --filter 'python:*'` shows what a process has)";
}

}  // namespace

PythonFnSpec parse_python_fn_spec(std::string_view spec) {
  PythonFnSpec parsed;
  const auto colon = spec.rfind(':');
  if (colon != std::string_view::npos) {
    parsed.file_glob = std::string(spec.substr(0, colon));
    check_glob(spec, parsed.file_glob, "file");
  }
  parsed.function_glob =
      std::string(colon == std::string_view::npos ? spec : spec.substr(colon + 1));
  check_glob(spec, parsed.function_glob, "function");
  return parsed;
}

PythonProbes resolve_python_probes(const TracedProcess& process) {
  const std::string where = " (pid " + std::to_string(process.pid) + ")";
  if (!looks_like_python(process)) {
    throw UsageError("--python-fn: pid " + std::to_string(process.pid) + " (" + process.exe +
                     ") is not a Python process: neither its executable nor a library it maps "
                     "is CPython");
  }
  std::vector<std::string> objects = {""};  // the executable first, then libpython
  for (const auto& mapped : process.mapped_files) {
    if (mapped != process.exe && base_name(mapped).starts_with("libpython")) {
      objects.push_back(mapped);
    }
  }
  for (const auto& object : objects) {
    if (auto probes = probes_in(process.pid, locate_object_file(process, object))) return *probes;
  }
  throw UsageError(no_probes(process.exe, where));
}

PythonProbes resolve_python_probes(const FileTarget& file) {
  if (auto probes = probes_in(-1, ObjectFile{.object = file.object, .path = file.path})) {
    return *probes;
  }
  throw UsageError(no_probes(file.object, ""));
}

}  // namespace profilis
