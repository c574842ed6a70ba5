#include "agent/probes/usdt_attach.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "agent/common/errors.h"

namespace profilis {
namespace {

// struct __bpf_usdt_arg_spec and struct __bpf_usdt_spec of <bpf/usdt.bpf.h> (libbpf 1.1), a
// BPF-side header user space cannot include; libbpf's usdt.c keeps the same copy.
struct BpfUsdtArgSpec {
  std::uint64_t val_off;
  std::uint32_t arg_type;  // enum __bpf_usdt_arg_type, in UsdtArgumentKind's order
  std::int16_t reg_off;
  bool arg_signed;
  char arg_bitshift;
};
static_assert(sizeof(BpfUsdtArgSpec) == 16);

struct BpfUsdtSpec {
  BpfUsdtArgSpec args[kMaxUsdtArguments];
  std::uint64_t usdt_cookie;
  std::int16_t arg_cnt;
};
static_assert(sizeof(BpfUsdtSpec) == 208);

// With its padding zeroed: equal specs have equal bytes.
std::string spec_bytes(const std::vector<UsdtArgument>& arguments, std::uint64_t usdt_cookie) {
  BpfUsdtSpec spec;
  std::memset(&spec, 0, sizeof spec);
  for (std::size_t i = 0; i < arguments.size() && i < kMaxUsdtArguments; ++i) {
    const UsdtArgument& argument = arguments[i];
    spec.args[i].val_off = argument.value;
    spec.args[i].arg_type = static_cast<std::uint32_t>(argument.kind);
    spec.args[i].reg_off = argument.register_offset;
    spec.args[i].arg_signed = argument.is_signed;
    spec.args[i].arg_bitshift = static_cast<char>(argument.bitshift);
  }
  spec.usdt_cookie = usdt_cookie;
  spec.arg_cnt = static_cast<std::int16_t>(arguments.size());
  return std::string(reinterpret_cast<const char*>(&spec), sizeof spec);
}

}  // namespace

void set_usdt_attach_type(bpf_object* object) {
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, object) {
    if (std::strcmp(bpf_program__section_name(program), "usdt") == 0) {
      set_uprobe_multi_attach_type(program);
    }
  }
}

UsdtSpecTable::UsdtSpecTable(bpf_map* specs)
    : map_(specs), capacity_(specs != nullptr ? bpf_map__max_entries(specs) : 0) {
  if (specs == nullptr || bpf_map__value_size(specs) != sizeof(BpfUsdtSpec)) {
    throw RuntimeError("the BPF object's __bpf_usdt_specs map is not libbpf 1.1's layout");
  }
}

std::uint32_t UsdtSpecTable::id_of(const std::vector<UsdtArgument>& arguments,
                                   std::uint64_t usdt_cookie, const std::string& probe) {
  std::string bytes = spec_bytes(arguments, usdt_cookie);
  if (const auto known = ids_.find(bytes); known != ids_.end()) return known->second;
  const auto id = static_cast<std::uint32_t>(ids_.size());
  if (id >= capacity_) {
    throw RuntimeError("cannot attach " + probe + ": all " + std::to_string(capacity_) +
                       " USDT argument specs of the BPF object are in use "
                       "(BPF_USDT_MAX_SPEC_CNT)");
  }
  if (bpf_map__update_elem(map_, &id, sizeof id, bytes.data(), bytes.size(), BPF_ANY) != 0) {
    throw RuntimeError(errno_message("cannot write the argument spec of " + probe, errno));
  }
  ids_.emplace(std::move(bytes), id);
  return id;
}

const std::vector<UsdtNote>& UsdtLinks::notes_of(const std::string& path) {
  if (path == notes_path_) return notes_;
  auto notes = read_usdt_notes(path);
  if (!notes) throw RuntimeError(notes.error().message);
  notes_ = *std::move(notes);
  notes_path_ = path;
  return notes_;
}

void UsdtLinks::attach(bpf_program* program, bpf_map* specs, pid_t pid, const std::string& path,
                       const std::string& provider, const std::string& name, std::uint64_t cookie,
                       const std::string& label) {
  const std::string probe = "USDT probe " + provider + ":" + name + " in " + label;
  UsdtSpecTable& table = tables_.try_emplace(specs, specs).first->second;
  const int program_fd = bpf_program__fd(program);
  Link& link = links_[{program_fd, path, pid}];
  auto offsets = link.offsets, cookies = link.cookies, semaphores = link.semaphores;
  const std::size_t before = offsets.size();
  for (const UsdtNote& note : notes_of(path)) {
    if (note.provider != provider || note.name != name) continue;
    const UsdtArguments arguments = parse_usdt_arguments(note.arguments);
    if (!arguments.ok()) throw RuntimeError("cannot attach " + probe + ": " + arguments.error);
    if (!note.site_offset || (note.semaphore != 0 && !note.semaphore_offset)) {
      throw RuntimeError("cannot attach " + probe +
                         ": its site or semaphore is in no section of the file");
    }
    offsets.push_back(*note.site_offset);
    cookies.push_back(table.id_of(arguments.arguments, cookie, probe));
    semaphores.push_back(note.semaphore_offset.value_or(0));
  }
  if (offsets.size() == before) {
    throw RuntimeError("cannot attach " + probe + ": the file has no such probe");
  }
  // The old link goes first: while both were attached, a hit would run the program twice.
  link.link.reset();
  link.link.emplace(
      program_fd, path,
      UprobeMultiSites{.offsets = offsets, .cookies = cookies, .ref_ctr_offsets = semaphores}, pid,
      false, probe);
  link.offsets = std::move(offsets);
  link.cookies = std::move(cookies);
  link.semaphores = std::move(semaphores);
}

std::vector<UprobeMultiLink> UsdtLinks::release() {
  std::vector<UprobeMultiLink> links;
  for (auto& [key, link] : links_) {
    if (link.link) links.push_back(*std::move(link.link));
  }
  links_.clear();
  return links;
}

}  // namespace profilis
