#include "agent/inspect/symbols.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "agent/common/errors.h"
#include "agent/inspect/elf_result.h"

namespace profilis {
namespace {

// The symbols of a fixture, which is always readable.
std::vector<FunctionSymbol> symbols_of(const std::string& path) {
  auto symbols = read_function_symbols(path);
  if (!symbols) ADD_FAILURE() << symbols.error().message;
  return symbols ? *std::move(symbols) : std::vector<FunctionSymbol>{};
}

// Expected values come from binutils' readelf, which shares no code with the reader under test.

struct PipeCloser {
  void operator()(FILE* pipe) const { pclose(pipe); }
};

std::string run(const std::string& command) {
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;)
    output.append(buffer, n);
  return output;
}

std::string readelf(const std::string& options, const std::string& path) {
  return run("readelf " + options + " '" + path + "'");
}

struct ReadelfSymbol {
  std::string table;
  std::string name;
  std::string type;
  std::string ndx;
  std::uint64_t value = 0;
  std::uint64_t size = 0;
};

// Lines of `readelf -sW`: "  12: 0000000000001139    20 FUNC    GLOBAL DEFAULT   14 name".
std::vector<ReadelfSymbol> readelf_symbols(const std::string& path) {
  std::istringstream output(readelf("-sW", path));
  std::vector<ReadelfSymbol> symbols;
  std::string table;
  for (std::string line; std::getline(output, line);) {
    if (line.starts_with("Symbol table '")) {
      table = line.substr(14, line.find('\'', 14) - 14);
      continue;
    }
    std::istringstream fields(line);
    std::string number, value, size, bind, visibility;
    ReadelfSymbol symbol;
    fields >> number >> value >> size >> symbol.type >> bind >> visibility >> symbol.ndx;
    if (!number.ends_with(':') || number == "Num:" || !fields) continue;
    std::getline(fields >> std::ws, symbol.name);
    symbol.name = symbol.name.substr(0, symbol.name.find_first_of("@ "));  // "puts@GLIBC_2.2.5 (2)"
    symbol.table = table;
    symbol.value = std::stoull(value, nullptr, 16);
    symbol.size = std::stoull(size, nullptr, 0);
    symbols.push_back(symbol);
  }
  return symbols;
}

struct ReadelfSection {
  std::string name;
  std::string type;
  std::uint64_t address = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// Lines of `readelf -SW`: "  [14] .text  PROGBITS  0000000000001040 001040 000131 00  AX 0 0 16".
std::map<int, ReadelfSection> readelf_sections(const std::string& path) {
  std::istringstream output(readelf("-SW", path));
  std::map<int, ReadelfSection> sections;
  for (std::string line; std::getline(output, line);) {
    std::size_t open = line.find('[');
    std::size_t close = line.find(']');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    int index = 0;
    if (std::sscanf(line.c_str() + open + 1, "%d", &index) != 1 || index == 0) continue;
    std::istringstream fields(line.substr(close + 1));
    ReadelfSection section;
    std::string address, offset, size;
    if (fields >> section.name >> section.type >> address >> offset >> size) {
      section.address = std::stoull(address, nullptr, 16);
      section.offset = std::stoull(offset, nullptr, 16);
      section.size = std::stoull(size, nullptr, 16);
      sections[index] = section;
    }
  }
  return sections;
}

struct LoadSegment {
  std::uint64_t offset = 0;
  std::uint64_t address = 0;
  std::uint64_t file_size = 0;
};

// Lines of `readelf -lW`: "  LOAD  0x001000 0x0000000000401000 0x0000000000401000 0x000261 ...".
std::vector<LoadSegment> readelf_load_segments(const std::string& path) {
  std::istringstream output(readelf("-lW", path));
  std::vector<LoadSegment> segments;
  for (std::string line; std::getline(output, line);) {
    std::istringstream fields(line);
    std::string type, offset, address, physical, file_size;
    if (fields >> type >> offset >> address >> physical >> file_size && type == "LOAD") {
      segments.push_back({std::stoull(offset, nullptr, 16), std::stoull(address, nullptr, 16),
                          std::stoull(file_size, nullptr, 16)});
    }
  }
  return segments;
}

bool is_cold_fragment(const std::string& name) {
  return name.ends_with(".cold") || name.find(".cold.") != std::string::npos;
}

std::string file_bytes(const std::string& path, std::uint64_t offset, std::uint64_t size) {
  std::ifstream file(path, std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(size, '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(size));
  EXPECT_TRUE(file) << "cannot read " << size << " bytes at " << offset << " of " << path;
  return bytes;
}

const FunctionSymbol* find_named(const std::vector<FunctionSymbol>& symbols,
                                 const std::string& name) {
  auto it = std::find_if(symbols.begin(), symbols.end(),
                         [&](const FunctionSymbol& symbol) { return symbol.name == name; });
  return it == symbols.end() ? nullptr : &*it;
}

const FunctionSymbol& named(const std::vector<FunctionSymbol>& symbols, const std::string& name) {
  const FunctionSymbol* symbol = find_named(symbols, name);
  if (symbol == nullptr) throw std::runtime_error("no function symbol " + name);
  return *symbol;
}

std::set<std::string> demangled_names(const std::vector<FunctionSymbol>& symbols) {
  std::set<std::string> names;
  for (const FunctionSymbol& symbol : symbols) names.insert(symbol.demangled);
  return names;
}

struct ElfFixture {
  const char* label;
  const char* path;
};

const ElfFixture kElfFixtures[] = {
    {"Pie", ELF_FIXTURE_PIE},           {"NonPie", ELF_FIXTURE_NOPIE},
    {"Cpp", ELF_FIXTURE_CPP},           {"SharedLibrary", ELF_FIXTURE_LIB},
    {"Rdynamic", ELF_FIXTURE_RDYNAMIC}, {"Stripped", ELF_FIXTURE_STRIPPED},
};

class EveryElfFixture : public testing::TestWithParam<ElfFixture> {
 protected:
  std::string path() const { return GetParam().path; }
};

TEST_P(EveryElfFixture, shouldListTheFunctionsReadelfLists) {
  std::set<std::tuple<std::string, std::uint64_t, std::uint64_t>> expected;
  for (const ReadelfSymbol& symbol : readelf_symbols(path())) {
    if (symbol.type == "FUNC" && symbol.ndx != "UND" && symbol.ndx != "ABS" && symbol.value != 0 &&
        !symbol.name.empty() && !is_cold_fragment(symbol.name)) {
      expected.emplace(symbol.name, symbol.value, symbol.size);
    }
  }
  std::set<std::tuple<std::string, std::uint64_t, std::uint64_t>> actual;
  for (const FunctionSymbol& symbol : symbols_of(path())) {
    actual.emplace(symbol.name, symbol.address, symbol.size);
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(actual, expected);
}

TEST_P(EveryElfFixture, shouldListEachNameAndAddressOnce) {
  std::vector<FunctionSymbol> symbols = symbols_of(path());
  std::set<std::pair<std::string, std::uint64_t>> seen;
  for (const FunctionSymbol& symbol : symbols) {
    EXPECT_TRUE(seen.emplace(symbol.name, symbol.address).second) << symbol.name;
  }
}

TEST_P(EveryElfFixture, shouldComputeOffsetsFromTheSectionHeadersReadelfPrints) {
  std::map<std::string, int> section_of;
  for (const ReadelfSymbol& symbol : readelf_symbols(path())) {
    if (symbol.type == "FUNC" && std::isdigit(static_cast<unsigned char>(symbol.ndx[0]))) {
      section_of[symbol.name] = std::stoi(symbol.ndx);
    }
  }
  std::map<int, ReadelfSection> sections = readelf_sections(path());
  for (const FunctionSymbol& symbol : symbols_of(path())) {
    const ReadelfSection& section = sections.at(section_of.at(symbol.name));
    EXPECT_EQ(symbol.file_offset, symbol.address - section.address + section.offset) << symbol.name;
  }
}

// The kernel places a uprobe through the file mapping, i.e. through the PT_LOAD segments, not the
// section headers: check the offsets along that other path too.
TEST_P(EveryElfFixture, shouldGiveOffsetsThatTheLoadSegmentsMapToTheAddress) {
  std::vector<LoadSegment> segments = readelf_load_segments(path());
  ASSERT_FALSE(segments.empty());
  for (const FunctionSymbol& symbol : symbols_of(path())) {
    auto segment = std::find_if(segments.begin(), segments.end(), [&](const LoadSegment& s) {
      return symbol.address >= s.address && symbol.address < s.address + s.file_size;
    });
    ASSERT_NE(segment, segments.end()) << symbol.name << " is in no loadable segment";
    EXPECT_EQ(symbol.file_offset, symbol.address - segment->address + segment->offset)
        << symbol.name;
  }
}

INSTANTIATE_TEST_SUITE_P(ElfFixtures, EveryElfFixture, testing::ValuesIn(kElfFixtures),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(ReadFunctionSymbols, shouldGiveNonPieOffsetsThatDifferFromAddresses) {
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_NOPIE);
  const FunctionSymbol& add = named(symbols, "fixture_add");
  EXPECT_NE(add.file_offset, add.address);
  EXPECT_LT(add.file_offset, add.address);
}

// Position-independent or not, a function this simple compiles to the same bytes: the two offsets
// must land on the same code.
TEST(ReadFunctionSymbols, shouldPointPieAndNonPieOffsetsAtTheSameCode) {
  std::vector<FunctionSymbol> pie = symbols_of(ELF_FIXTURE_PIE);
  std::vector<FunctionSymbol> non_pie = symbols_of(ELF_FIXTURE_NOPIE);
  for (const char* name : {"fixture_add", "fixture_multiply"}) {
    const FunctionSymbol& a = named(pie, name);
    const FunctionSymbol& b = named(non_pie, name);
    ASSERT_EQ(a.size, b.size) << name;
    ASSERT_GT(a.size, 0u) << name;
    EXPECT_EQ(file_bytes(ELF_FIXTURE_PIE, a.file_offset, a.size),
              file_bytes(ELF_FIXTURE_NOPIE, b.file_offset, b.size))
        << name;
  }
}

// The dynamic loader maps the library and resolves names its own way; the code it finds must be the
// bytes at our offsets.
TEST(ReadFunctionSymbols, shouldPointAtTheCodeTheDynamicLoaderMaps) {
  std::unique_ptr<void, int (*)(void*)> library(dlopen(ELF_FIXTURE_LIB, RTLD_NOW | RTLD_LOCAL),
                                                dlclose);
  ASSERT_TRUE(library) << dlerror();
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_LIB);
  for (const char* name : {"fixture_lib_sum", "fixture_lib_scale"}) {
    const FunctionSymbol& symbol = named(symbols, name);
    const char* loaded = static_cast<const char*>(dlsym(library.get(), name));
    ASSERT_NE(loaded, nullptr) << name;
    ASSERT_GT(symbol.size, 0u) << name;
    EXPECT_EQ(file_bytes(ELF_FIXTURE_LIB, symbol.file_offset, symbol.size),
              std::string(loaded, symbol.size))
        << name;
  }
}

TEST(ReadFunctionSymbols, shouldListExportedLibraryFunctionsOnceThoughBothTablesHaveThem) {
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_LIB);
  EXPECT_EQ(std::count_if(symbols.begin(), symbols.end(),
                          [](const auto& s) { return s.name == "fixture_lib_sum"; }),
            1);
  EXPECT_TRUE(named(symbols, "fixture_lib_sum").from_symtab);
  EXPECT_TRUE(named(symbols, "fixture_lib_sum").global);
  EXPECT_NE(find_named(symbols, "fixture_lib_hidden"), nullptr);
}

TEST(ReadFunctionSymbols, shouldFindExportedFunctionsInAStrippedBinaryThroughDynsym) {
  ASSERT_EQ(readelf("-SW", ELF_FIXTURE_STRIPPED).find(".symtab"), std::string::npos)
      << "the fixture was meant to be stripped";
  std::vector<FunctionSymbol> stripped = symbols_of(ELF_FIXTURE_STRIPPED);
  std::vector<FunctionSymbol> original = symbols_of(ELF_FIXTURE_RDYNAMIC);
  for (const char* name : {"fixture_add", "fixture_multiply", "main"}) {
    const FunctionSymbol* symbol = find_named(stripped, name);
    ASSERT_NE(symbol, nullptr) << name;
    EXPECT_FALSE(symbol->from_symtab) << name;
    EXPECT_EQ(symbol->file_offset, named(original, name).file_offset) << name;
  }
  EXPECT_EQ(find_named(stripped, "fixture_local_helper"), nullptr);
  EXPECT_NE(find_named(original, "fixture_local_helper"), nullptr);
}

TEST(ReadFunctionSymbols, shouldLeaveOutIfuncsBecauseTheirAddressIsTheResolver) {
  std::vector<ReadelfSymbol> raw = readelf_symbols(ELF_FIXTURE_PIE);
  ASSERT_TRUE(std::any_of(raw.begin(), raw.end(), [](const ReadelfSymbol& s) {
    return s.name == "fixture_dispatch" && s.type == "IFUNC";
  }));
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_PIE);
  EXPECT_EQ(find_named(symbols, "fixture_dispatch"), nullptr);
  EXPECT_NE(find_named(symbols, "fixture_resolve_dispatch"), nullptr);
}

TEST(ReadFunctionSymbols, shouldLeaveOutColdFragments) {
  std::vector<ReadelfSymbol> raw = readelf_symbols(ELF_FIXTURE_PIE);
  ASSERT_TRUE(std::any_of(raw.begin(), raw.end(), [](const ReadelfSymbol& s) {
    return s.name == "fixture_checked.cold" && s.type == "FUNC";
  })) << "the compiler no longer splits fixture_checked; the test checks nothing";
  std::vector<FunctionSymbol> matched =
      match_functions("fixture_checked*", symbols_of(ELF_FIXTURE_PIE));
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].name, "fixture_checked");
}

TEST(ReadFunctionSymbols, shouldDemangleCppNames) {
  std::vector<FunctionSymbol> cpp = symbols_of(ELF_FIXTURE_CPP);
  EXPECT_EQ(named(cpp, "_ZN7fixture6Widget4spinEi").demangled, "fixture::Widget::spin(int)");
  EXPECT_EQ(named(cpp, "main").demangled, "");
}

class ReadFunctionSymbolsErrors : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "symbols_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string write_file(const std::string& name, const std::string& contents) {
    std::string path = (directory_ / name).string();
    std::ofstream(path) << contents;
    return path;
  }

  // Why `path` cannot be read; fails the test when it can.
  static std::string read_error(const std::string& path) {
    const auto symbols = read_function_symbols(path);
    if (!symbols) return symbols.error().message;
    ADD_FAILURE() << "read " << symbols->size() << " symbols from " << path;
    return {};
  }

  std::filesystem::path directory_;
};

TEST_F(ReadFunctionSymbolsErrors, shouldRejectAMissingFile) {
  std::string path = (directory_ / "does-not-exist").string();
  std::string message = read_error(path);
  EXPECT_NE(message.find("cannot read symbols of " + path), std::string::npos) << message;
}

TEST_F(ReadFunctionSymbolsErrors, shouldRejectATextFile) {
  std::string path = write_file("notes.txt", "not machine code\n");
  EXPECT_EQ(read_error(path), "cannot read symbols of " + path + ": not an ELF file");
}

TEST_F(ReadFunctionSymbolsErrors, shouldRejectAnEmptyFile) {
  std::string path = write_file("empty", "");
  EXPECT_EQ(read_error(path), "cannot read symbols of " + path + ": not an ELF file");
}

TEST_F(ReadFunctionSymbolsErrors, shouldRejectADirectory) {
  std::string message = read_error(directory_.string());
  EXPECT_NE(message.find("cannot read symbols of " + directory_.string()), std::string::npos)
      << message;
}

TEST_F(ReadFunctionSymbolsErrors, shouldBeBadInputOnlyForAFileTheUserNamed) {
  const std::string path = write_file("script.sh", "#!/bin/sh\n");
  try {
    value_or_usage_error(read_function_symbols(path));
    ADD_FAILURE() << "no UsageError for " << path;
  } catch (const UsageError& error) {
    EXPECT_EQ(error.code(), ExitCode::kUsage);
    EXPECT_EQ(std::string(error.what()), "cannot read symbols of " + path + ": not an ELF file");
  }
  EXPECT_EQ(value_or_usage_error(read_function_symbols(ELF_FIXTURE_PIE)).size(),
            symbols_of(ELF_FIXTURE_PIE).size());
}

TEST(MatchFunctions, shouldMatchEveryOverloadByItsNameWithoutParameters) {
  std::vector<FunctionSymbol> matched =
      match_functions("fixture::Widget::spin", symbols_of(ELF_FIXTURE_CPP));
  EXPECT_EQ(demangled_names(matched),
            (std::set<std::string>{"fixture::Widget::spin()", "fixture::Widget::spin(int)",
                                   "fixture::Widget::spin(double) const"}));
}

TEST(MatchFunctions, shouldMatchOneOverloadByItsSignature) {
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_CPP);
  std::vector<FunctionSymbol> matched = match_functions("fixture::Widget::spin(int)", symbols);
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].name, "_ZN7fixture6Widget4spinEi");
  EXPECT_EQ(match_functions("fixture::Widget::spin(double) const", symbols).size(), 1u);
}

TEST(MatchFunctions, shouldMatchMangledNames) {
  std::vector<FunctionSymbol> matched =
      match_functions("_ZN7fixture6Widget4spinEi", symbols_of(ELF_FIXTURE_CPP));
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].demangled, "fixture::Widget::spin(int)");
}

TEST(MatchFunctions, shouldMatchTemplateInstancesWithoutTheirReturnType) {
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_CPP);
  std::vector<FunctionSymbol> twice_int = match_functions("fixture::twice<int>", symbols);
  ASSERT_EQ(twice_int.size(), 1u);
  EXPECT_EQ(twice_int[0].demangled, "int fixture::twice<int>(int)");
  EXPECT_EQ(match_functions("fixture::twice<double>(double)", symbols).size(), 1u);
  EXPECT_EQ(match_functions("fixture::twice*", symbols).size(), 2u);
  EXPECT_EQ(match_functions("fixture::Widget::scale<?*>", symbols).size(), 2u);
}

TEST(MatchFunctions, shouldMatchGlobsAgainstDemangledNames) {
  std::vector<FunctionSymbol> matched = match_functions("fixture::*", symbols_of(ELF_FIXTURE_CPP));
  std::set<std::string> names;
  for (const FunctionSymbol& symbol : matched) names.insert(symbol.demangled);
  EXPECT_EQ(names, (std::set<std::string>{
                       "fixture::Widget::Widget(int)",
                       "fixture::Widget::spin()",
                       "fixture::Widget::spin(int)",
                       "fixture::Widget::spin(double) const",
                       "int fixture::Widget::scale<int>(int) const",
                       "double fixture::Widget::scale<double>(double) const",
                       "int fixture::twice<int>(int)",
                       "double fixture::twice<double>(double)",
                       "fixture::free_function(int)",
                   }));
  // One constructor, though it has two symbols (complete and base object: C1 and C2).
  EXPECT_EQ(matched.size(), names.size());
}

TEST(MatchFunctions, shouldMatchFunctionsInAnAnonymousNamespace) {
  std::vector<FunctionSymbol> matched =
      match_functions("(anonymous namespace)::hidden_helper", symbols_of(ELF_FIXTURE_CPP));
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].demangled, "(anonymous namespace)::hidden_helper(int)");
}

TEST(MatchFunctions, shouldListAliasesButProbeTheirAddressOnce) {
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_PIE);
  const FunctionSymbol& add = named(symbols, "fixture_add");
  EXPECT_EQ(named(symbols, "fixture_add_alias").file_offset, add.file_offset);

  std::vector<FunctionSymbol> matched = match_functions("fixture_add*", symbols);
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].name, "fixture_add");
}

TEST(MatchFunctions, shouldReportTheAliasThatMatched) {
  std::vector<FunctionSymbol> matched =
      match_functions("fixture_add_alias", symbols_of(ELF_FIXTURE_PIE));
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].name, "fixture_add_alias");
}

TEST(MatchFunctions, shouldReturnNothingWhenNothingMatches) {
  EXPECT_TRUE(match_functions("no_such_function", symbols_of(ELF_FIXTURE_PIE)).empty());
}

FunctionSymbol make_symbol(std::string name, std::uint64_t offset, bool global, bool from_symtab) {
  FunctionSymbol symbol;
  symbol.name = std::move(name);
  symbol.address = offset + 0x400000;
  symbol.file_offset = offset;
  symbol.global = global;
  symbol.from_symtab = from_symtab;
  return symbol;
}

TEST(MatchFunctions, shouldPreferSymtabThenGlobalThenShortestAlias) {
  std::vector<FunctionSymbol> symbols = {
      make_symbol("a", 0x30, true, false),          make_symbol("bb_local", 0x30, false, true),
      make_symbol("cccc_global", 0x30, true, true), make_symbol("dd_global", 0x20, true, true),
      make_symbol("d_global", 0x20, true, true),    make_symbol("e", 0x10, false, false),
  };
  std::vector<FunctionSymbol> matched = match_functions("*", symbols);
  ASSERT_EQ(matched.size(), 3u);
  EXPECT_EQ(matched[0].name, "e");
  EXPECT_EQ(matched[1].name, "d_global");
  EXPECT_EQ(matched[2].name, "cccc_global");
}

TEST(SymbolMatches, shouldTryMangledDemangledAndBareNames) {
  FunctionSymbol symbol;
  symbol.name = "_ZNK2ns3Cls2fnEi";
  symbol.demangled = "ns::Cls::fn(int) const";
  EXPECT_TRUE(symbol_matches("_ZNK2ns3Cls2fnEi", symbol));
  EXPECT_TRUE(symbol_matches("ns::Cls::fn(int) const", symbol));
  EXPECT_TRUE(symbol_matches("ns::Cls::fn", symbol));
  EXPECT_TRUE(symbol_matches("ns::*::fn", symbol));
  EXPECT_FALSE(symbol_matches("ns::Cls::fn(int)", symbol));
  EXPECT_FALSE(symbol_matches("Cls::fn", symbol));
}

TEST(SymbolMatches, shouldNotMatchAClonedFunctionByThePlainName) {
  FunctionSymbol symbol;
  symbol.name = "_ZN2ns2fnEi.constprop.0";
  symbol.demangled = "ns::fn(int) [clone .constprop.0]";
  EXPECT_FALSE(symbol_matches("ns::fn", symbol));
  EXPECT_TRUE(symbol_matches("ns::fn*", symbol));
}

TEST(ClosestNames, shouldSuggestTheRealNameForATypo) {
  std::vector<std::string> names =
      closest_names("fixture::Widget::spn", symbols_of(ELF_FIXTURE_CPP));
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "fixture::Widget::spin");
  EXPECT_EQ(closest_names("fixtur_multiply", symbols_of(ELF_FIXTURE_PIE))[0], "fixture_multiply");
}

TEST(ClosestNames, shouldRankNamesContainingThePatternFirst) {
  std::vector<std::string> names = closest_names("twice", symbols_of(ELF_FIXTURE_CPP));
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], "fixture::twice<int>");
  EXPECT_EQ(names[1], "fixture::twice<double>");
}

TEST(ClosestNames, shouldNotRepeatOverloadsAndRespectTheLimit) {
  std::vector<FunctionSymbol> symbols = symbols_of(ELF_FIXTURE_CPP);
  std::vector<std::string> names = closest_names("fixture::Widget::spin", symbols, 3);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "fixture::Widget::spin");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_TRUE(closest_names("spin", symbols, 0).empty());
}

TEST(ClosestNames, shouldBreakTiesAlphabetically) {
  // "abcd" and "bcde" are both four edits away from "wxyz".
  std::vector<FunctionSymbol> symbols = {make_symbol("bcde", 0x10, true, true),
                                         make_symbol("zzzzzzzzzz", 0x20, true, true),
                                         make_symbol("abcd", 0x30, true, true)};
  EXPECT_EQ(closest_names("wxyz", symbols),
            (std::vector<std::string>{"abcd", "bcde", "zzzzzzzzzz"}));
}

}  // namespace
}  // namespace profilis
