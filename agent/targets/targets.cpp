#include "agent/targets/targets.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "agent/common/errors.h"
#include "agent/inspect/proc_maps.h"
#include "agent/inspect/symbols.h"

namespace profilis {
std::string proc_path(pid_t pid, std::string_view leaf) {
  return "/proc/" + std::to_string(pid) + "/" + std::string(leaf);
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// The process a thread id belongs to (its own id for a main thread), 0 when unreadable.
pid_t thread_group_of(pid_t pid) {
  std::istringstream status(read_text(proc_path(pid, "status")));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("Tgid:")) return static_cast<pid_t>(std::stol(line.substr(5)));
  }
  return 0;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string mapped_libraries(const TracedProcess& process) {
  std::vector<std::string> names;
  for (const auto& path : process.mapped_files) {
    if (path != process.exe) names.push_back(base_name(path));
  }
  return names.empty() ? "none" : join(names, ", ");
}

// The mapped path OBJECT names; a path may also be given through a symlink (/lib → /usr/lib).
std::string locate_object(const TracedProcess& process, const std::string& object) {
  if (auto found = find_mapped_object(process.mapped_files, object)) return *found;
  if (object.find('/') != std::string::npos) {
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(object, ec).string();
    if (!ec) {
      if (auto found = find_mapped_object(process.mapped_files, canonical)) return *found;
    }
  }
  throw UsageError("pid " + std::to_string(process.pid) + " (" + process.comm +
                   ") maps no library named '" + object +
                   "'; it maps: " + mapped_libraries(process));
}

}  // namespace

std::string process_comm(pid_t pid) {
  std::string comm = read_text(proc_path(pid, "comm"));
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

TracedProcess inspect_process(pid_t pid) {
  if (pid <= 0) throw UsageError("invalid pid " + std::to_string(pid));
  TracedProcess process;
  process.pid = pid;
  std::error_code ec;
  if (!std::filesystem::exists(proc_path(pid, ""), ec)) {
    throw UsageError("no process with pid " + std::to_string(pid) + " (check it with `ps -p " +
                     std::to_string(pid) + "`)");
  }
  if (const pid_t tgid = thread_group_of(pid); tgid != 0 && tgid != pid) {
    throw UsageError("pid " + std::to_string(pid) + " is a thread of process " +
                     std::to_string(tgid) + "; give --pid " + std::to_string(tgid));
  }
  process.comm = process_comm(pid);
  process.exe = std::filesystem::read_symlink(proc_path(pid, "exe"), ec).string();
  if (ec) {
    throw UsageError("cannot trace pid " + std::to_string(pid) + ": " + ec.message() +
                     " reading /proc/" + std::to_string(pid) + "/exe (a kernel thread?)");
  }
  process.maps = read_text(proc_path(pid, "maps"));
  process.mapped_files = parse_mapped_files(process.maps);
  return process;
}

ObjectFile locate_object_file(const TracedProcess& process, const std::string& object) {
  // /proc/PID/exe and /proc/PID/root/... open the target's own file even across mount namespaces.
  if (object.empty()) return {process.exe, proc_path(process.pid, "exe")};
  std::string mapped = locate_object(process, object);
  std::string path = proc_path(process.pid, "root") + mapped;
  return {std::move(mapped), std::move(path)};
}

FnSpec parse_fn_spec(std::string_view spec) {
  FnSpec parsed;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != ':') continue;
    if (i + 1 < spec.size() && spec[i + 1] == ':') {
      ++i;  // C++ scope separator, part of the pattern
      continue;
    }
    parsed.object = std::string(spec.substr(0, i));
    parsed.pattern = std::string(spec.substr(i + 1));
    if (parsed.object.empty()) throw UsageError("--fn '" + std::string(spec) + "': empty object");
    break;
  }
  if (parsed.object.empty()) parsed.pattern = std::string(spec);
  if (parsed.pattern.empty()) {
    throw UsageError("--fn '" + std::string(spec) + "': no function name or pattern");
  }
  return parsed;
}

namespace {

// `where` ends the message when nothing matches: " (pid 42)", or "" for a file.
std::vector<FunctionProbe> functions_in(pid_t pid, const std::string& path,
                                        const std::string& object, const std::string& pattern,
                                        const std::string& where, ReturnChoice returns) {
  const auto symbols = value_or_usage_error(read_function_symbols(path));
  const auto matches = match_functions(pattern, symbols);
  if (matches.empty()) {
    const auto close = closest_names(pattern, symbols);
    throw UsageError("no function matches '" + pattern + "' in " + object + where +
                     (close.empty() ? std::string("; it has no function symbols")
                                    : "; closest: " + join(close, ", ")));
  }
  const ReturnPlanner planner(path, object, symbols, returns);
  std::vector<FunctionProbe> probes;
  probes.reserve(matches.size());
  std::vector<std::string> refusals;
  for (const auto& symbol : matches) {
    FunctionProbe probe{.pid = pid,
                        .path = path,
                        .object = object,
                        .file_offset = symbol.file_offset,
                        .name = symbol.demangled.empty() ? symbol.name : symbol.demangled,
                        .returns = planner.plan(symbol)};
    if (probe.returns.refused.empty()) {
      probes.push_back(std::move(probe));
      continue;
    }
    std::string refusal =
        "cannot time " + probe.name + " in " + object + where + " safely: " + probe.returns.refused;
    if (planner.language() != CodeLanguage::go && returns != ReturnChoice::exits) {
      refusal +=
          " (--fn-returns uretprobes times it by return address, if no C++ exception passes "
          "through it)";
    }
    refusals.push_back(std::move(refusal));
  }
  if (probes.empty()) throw UsageError(refusals.front());
  for (const std::string& refusal : refusals) {
    std::fprintf(stderr, "profilis-agent: warning: %s; not traced\n", refusal.c_str());
  }
  return probes;
}

}  // namespace

std::vector<FunctionProbe> resolve_functions(const TracedProcess& process, const FnSpec& spec,
                                             ReturnChoice returns) {
  const auto [object, path] = locate_object_file(process, spec.object);
  return functions_in(process.pid, path, object, spec.pattern,
                      " (pid " + std::to_string(process.pid) + ")", returns);
}

std::vector<FunctionProbe> resolve_functions(const FileTarget& file, const FnSpec& spec,
                                             ReturnChoice returns) {
  if (!spec.object.empty()) {
    throw UsageError("--fn '" + spec.object + ":" + spec.pattern +
                     "': with --binary, give the pattern alone; it is looked up in each --binary "
                     "file (" +
                     file.object + ")");
  }
  return functions_in(-1, file.path, file.object, spec.pattern, "", returns);
}

void drop_repeated_sites(std::vector<FunctionProbe>& probes) {
  std::set<std::tuple<pid_t, std::string, std::uint64_t>> seen;
  std::erase_if(probes, [&](const FunctionProbe& probe) {
    return !seen.emplace(probe.pid, probe.path, probe.file_offset).second;
  });
}

FileTarget file_target(const std::string& path, const std::string& object) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw UsageError(object + ": " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) throw UsageError(object + ": not a regular file");
  return FileTarget{.path = path,
                    .object = object,
                    .device = static_cast<std::uint64_t>(info.st_dev),
                    .inode = static_cast<std::uint64_t>(info.st_ino)};
}

}  // namespace profilis
