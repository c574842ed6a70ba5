#include "agent/inspect/usdt_notes.h"

#include <gelf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "agent/inspect/elf_file.h"

namespace profilis {
namespace {

constexpr std::string_view kNoteSection = ".note.stapsdt";
constexpr std::string_view kBaseSection = ".stapsdt.base";
constexpr std::string_view kNoteOwner = "stapsdt";
constexpr std::uint32_t kNoteType = 3;  // NT_STAPSDT

// The three addresses (probe, .stapsdt.base, semaphore) and then provider, name and arguments,
// each NUL-terminated: the layout <sys/sdt.h> writes for a 64-bit target.
bool parse_note(const char* desc, std::size_t size, UsdtNote& note, std::uint64_t& base) {
  constexpr std::size_t kAddresses = 3 * sizeof(std::uint64_t);
  if (size < kAddresses) return false;
  std::memcpy(&note.address, desc, sizeof note.address);
  std::memcpy(&base, desc + 8, sizeof base);
  std::memcpy(&note.semaphore, desc + 16, sizeof note.semaphore);
  std::string_view strings(desc + kAddresses, size - kAddresses);
  std::string* fields[] = {&note.provider, &note.name, &note.arguments};
  for (std::string* field : fields) {
    const auto end = strings.find('\0');
    if (end == std::string_view::npos) return false;
    *field = std::string(strings.substr(0, end));
    strings.remove_prefix(end + 1);
  }
  return true;
}

std::optional<std::uint64_t> file_offset(const std::vector<GElf_Shdr>& sections,
                                         std::uint64_t address) {
  for (const auto& section : sections) {
    if ((section.sh_flags & SHF_ALLOC) == 0) continue;
    if (const auto offset = file_offset_in(section, address)) return offset;
  }
  return std::nullopt;
}

// `base_address`: where .stapsdt.base is now (0 without one). A note records where it was when
// the note was written; a prelinked file has moved since, and the note's addresses with it, by
// the same amount (what libbpf and SystemTap do).
void read_note_section(Elf_Scn* scn, const std::vector<GElf_Shdr>& sections,
                       std::uint64_t base_address, std::vector<UsdtNote>& notes) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr) return;
  GElf_Nhdr header;
  std::size_t name_at = 0, desc_at = 0;
  for (std::size_t offset = 0;
       (offset = gelf_getnote(data, offset, &header, &name_at, &desc_at)) > 0;) {
    const char* base = static_cast<const char*>(data->d_buf);
    const std::string_view owner(base + name_at, header.n_namesz ? header.n_namesz - 1 : 0);
    UsdtNote note;
    std::uint64_t noted_base = 0;
    if (header.n_type != kNoteType || owner != kNoteOwner ||
        !parse_note(base + desc_at, header.n_descsz, note, noted_base)) {
      continue;
    }
    if (base_address != 0 && noted_base != 0) {
      note.address += base_address - noted_base;
      if (note.semaphore != 0) note.semaphore += base_address - noted_base;
    }
    note.site_offset = file_offset(sections, note.address);
    if (note.semaphore != 0) note.semaphore_offset = file_offset(sections, note.semaphore);
    notes.push_back(std::move(note));
  }
}

}  // namespace

ElfResult<std::vector<UsdtNote>> read_usdt_notes(const std::string& elf_path) {
  const auto elf = ElfFile::open(elf_path, "USDT notes");
  if (!elf) return elf.error();
  std::size_t names = 0;
  if (elf_getshdrstrndx(elf->get(), &names) != 0) return std::vector<UsdtNote>{};
  const auto read = section_headers(*elf);
  if (!read) return read.error();
  const std::vector<GElf_Shdr>& sections = *read;
  const auto name_of = [&](const GElf_Shdr& section) {
    const char* name = elf_strptr(elf->get(), names, section.sh_name);
    return std::string_view(name != nullptr ? name : "");
  };
  std::uint64_t base_address = 0;
  for (const auto& section : sections) {
    if (name_of(section) == kBaseSection) base_address = section.sh_addr;
  }
  std::vector<UsdtNote> notes;
  for (Elf_Scn* scn = elf_nextscn(elf->get(), nullptr); scn != nullptr;
       scn = elf_nextscn(elf->get(), scn)) {
    const GElf_Shdr& header = sections[elf_ndxscn(scn)];
    if (header.sh_type == SHT_NOTE && name_of(header) == kNoteSection) {
      read_note_section(scn, sections, base_address, notes);
    }
  }
  return notes;
}

bool has_usdt_probe(const std::vector<UsdtNote>& notes, const std::string& provider,
                    const std::string& name) {
  return std::any_of(notes.begin(), notes.end(), [&](const UsdtNote& note) {
    return note.provider == provider && note.name == name;
  });
}

}  // namespace profilis
