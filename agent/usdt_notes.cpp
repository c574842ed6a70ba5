#include "agent/usdt_notes.h"

#include <gelf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "agent/elf_file.h"

namespace profilis {
namespace {

constexpr std::string_view kNoteSection = ".note.stapsdt";
constexpr std::string_view kNoteOwner = "stapsdt";
constexpr std::uint32_t kNoteType = 3;  // NT_STAPSDT

// The three addresses (probe, .stapsdt.base, semaphore) and then provider, name and arguments,
// each NUL-terminated: the layout <sys/sdt.h> writes for a 64-bit target.
bool parse_note(const char* desc, std::size_t size, UsdtNote& note) {
  constexpr std::size_t kAddresses = 3 * sizeof(std::uint64_t);
  if (size < kAddresses) return false;
  std::uint64_t base = 0;
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

void read_note_section(Elf_Scn* scn, std::vector<UsdtNote>& notes) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr) return;
  GElf_Nhdr header;
  std::size_t name_at = 0, desc_at = 0;
  for (std::size_t offset = 0;
       (offset = gelf_getnote(data, offset, &header, &name_at, &desc_at)) > 0;) {
    const char* base = static_cast<const char*>(data->d_buf);
    const std::string_view owner(base + name_at, header.n_namesz ? header.n_namesz - 1 : 0);
    UsdtNote note;
    if (header.n_type == kNoteType && owner == kNoteOwner &&
        parse_note(base + desc_at, header.n_descsz, note)) {
      notes.push_back(std::move(note));
    }
  }
}

}  // namespace

std::vector<UsdtNote> read_usdt_notes(const std::string& elf_path) {
  const ElfFile elf(elf_path, "USDT notes");
  std::size_t names = 0;
  if (elf_getshdrstrndx(elf.get(), &names) != 0) return {};
  std::vector<UsdtNote> notes;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn != nullptr;
       scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr header;
    if (gelf_getshdr(scn, &header) == nullptr || header.sh_type != SHT_NOTE) continue;
    const char* name = elf_strptr(elf.get(), names, header.sh_name);
    if (name != nullptr && name == kNoteSection) read_note_section(scn, notes);
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
