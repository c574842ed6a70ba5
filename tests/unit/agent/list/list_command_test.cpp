// `profilis-agent list`: its pure parts (building, sorting, rendering, option parsing), and the
// DT_NEEDED reader on the ELF fixtures.
#include "agent/list/list_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "agent/common/errors.h"
#include "agent/list/list_collect.h"
#include "agent/list/list_model.h"
#include "agent/list/list_render.h"
#include "agent/list/list_table.h"
#include "agent/targets/db_targets.h"

namespace profilis {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

FunctionSymbol symbol(std::string name, std::string demangled, std::uint64_t address,
                      bool global = true, bool from_symtab = true) {
  FunctionSymbol s;
  s.name = std::move(name);
  s.demangled = std::move(demangled);
  s.address = address;
  s.file_offset = address;
  s.size = 16;
  s.global = global;
  s.from_symtab = from_symtab;
  return s;
}

UsdtNote note(std::string provider, std::string name, std::uint64_t address,
              std::uint64_t semaphore = 0, std::string arguments = "8@%rdi") {
  return UsdtNote{std::move(provider), std::move(name), std::move(arguments), address,
                  semaphore,           std::nullopt,    std::nullopt};
}

// --- the table -------------------------------------------------------------------------------

TEST(ListTable, DisplayWidthCountsCodePoints) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("a…b"), 3u);
  EXPECT_EQ(display_width(""), 0u);
}

TEST(ListTable, TruncateEndsInEllipsisAndFitsTheWidth) {
  EXPECT_EQ(truncate_to_width("short", 10), "short");
  EXPECT_EQ(truncate_to_width("exactly10!", 10), "exactly10!");
  EXPECT_EQ(truncate_to_width("abcdefghijk", 5), "abcd…");
  EXPECT_EQ(truncate_to_width("abc", 1), "…");
  EXPECT_EQ(truncate_to_width("abc", 0), "");
  // A multi-byte character is never split.
  EXPECT_EQ(truncate_to_width("ééééé", 3), "éé…");
}

TEST(ListTable, ColumnsArePaddedAlignedAndHaveNoTrailingBlanks) {
  const std::vector<TableColumn> columns = {{.header = "NAME"},
                                            {.header = "N", .align_right = true}};
  const std::string table = render_table(columns, {{"a", "1"}, {"longer", "100"}}, 100);
  EXPECT_EQ(table,
            "NAME      N\n"
            "a         1\n"
            "longer  100\n");
}

TEST(ListTable, EmptyLastCellLeavesNoTrailingGap) {
  const std::string table = render_table({{.header = "A"}, {.header = "B"}}, {{"x", ""}}, 100);
  EXPECT_EQ(table, "A  B\nx\n");
}

TEST(ListTable, ShrinksFromTheRightmostShrinkableColumnToFit) {
  const std::vector<TableColumn> columns = {
      {.header = "NAME", .min_width = 6}, {.header = "ARGS", .min_width = 6}, {.header = "N"}};
  const std::vector<std::vector<std::string>> rows = {
      {"a_rather_long_name", "some long argument list", "7"}};
  // ARGS (rightmost shrinkable) goes first, to its minimum; NAME gives up the rest.
  EXPECT_EQ(render_table(columns, rows, 30),
            "NAME                ARGS     N\n"
            "a_rather_long_name  some l…  7\n");
  EXPECT_EQ(render_table(columns, rows, 26),
            "NAME             ARGS    N\n"
            "a_rather_long_…  some …  7\n");
}

TEST(ListTable, FixedColumnsAreNeverCut) {
  const std::string table =
      render_table({{.header = "NAME", .min_width = 4}, {.header = "ADDRESS"}},
                   {{"abcdefghijklmnopqrstuvwxyz", "0x123456789"}}, 20);
  EXPECT_NE(table.find("0x123456789"), std::string::npos) << table;
  for (const auto& line : lines_of(table)) EXPECT_LE(display_width(line), 20u) << line;
}

TEST(ListTable, ControlCharactersAreNotPassedToTheTerminal) {
  const std::string table = render_table({{.header = "NAME"}}, {{"evil\x1b[2Jname\n"}}, 100);
  EXPECT_EQ(table, "NAME\nevil?[2Jname?\n");
}

// --- building the listing --------------------------------------------------------------------

TEST(ListModel, FunctionsAreDemangledWithTheirObjectAndMangledName) {
  const std::vector<FunctionSymbol> symbols = {
      symbol("_ZN7fixture6Widget4spinEv", "fixture::Widget::spin()", 0x1100),
      symbol("plain_c", "", 0x1200)};
  const auto functions = list_functions("/bin/x", symbols, "");
  ASSERT_EQ(functions.size(), 2u);
  EXPECT_EQ(functions[0].name, "fixture::Widget::spin()");
  EXPECT_EQ(functions[0].mangled, "_ZN7fixture6Widget4spinEv");
  EXPECT_EQ(functions[0].object, "/bin/x");
  EXPECT_EQ(functions[0].address, 0x1100u);
  EXPECT_EQ(functions[1].name, "plain_c");
  EXPECT_EQ(functions[1].mangled, "plain_c");
}

TEST(ListModel, AliasesAtOneAddressAreListedOnceAsMatchFunctionsChooses) {
  const std::vector<FunctionSymbol> symbols = {symbol("__libc_malloc", "", 0x500, true, false),
                                               symbol("malloc", "", 0x500, true, true),
                                               symbol("__malloc_local", "", 0x500, false, true)};
  const auto functions = list_functions("libc.so.6", symbols, "");
  ASSERT_EQ(functions.size(), 1u);
  EXPECT_EQ(functions[0].name, match_functions("*", symbols).at(0).name);
  EXPECT_EQ(functions[0].name, "malloc");
}

TEST(ListModel, FilterMatchesMangledAndDemangledNames) {
  const std::vector<FunctionSymbol> symbols = {
      symbol("_ZN7fixture6Widget4spinEv", "fixture::Widget::spin()", 0x1100),
      symbol("_ZN7fixture6Widget4spinEi", "fixture::Widget::spin(int)", 0x1110),
      symbol("_ZN7fixture13free_functionEi", "fixture::free_function(int)", 0x1120),
      symbol("plain_c", "", 0x1200)};
  EXPECT_EQ(list_functions("x", symbols, "fixture::Widget::*").size(), 2u);
  EXPECT_EQ(list_functions("x", symbols, "fixture::free_function").size(), 1u);
  EXPECT_EQ(list_functions("x", symbols, "_ZN7fixture13*").size(), 1u);
  EXPECT_EQ(list_functions("x", symbols, "plain_?").size(), 1u);
  EXPECT_TRUE(list_functions("x", symbols, "nothing*").empty());
}

TEST(ListModel, AProbeWithSeveralSitesIsListedOnceWithItsSiteCount) {
  const std::vector<UsdtNote> notes = {
      note("python", "function__entry", 0x10, 0x900, "8@%r14"), note("python", "gc__start", 0x20),
      note("python", "function__entry", 0x30, 0x900, "8@%rbx"), note("libc", "setjmp", 0x40)};
  const auto probes = list_probes("/usr/bin/python3.11", notes, "");
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes[0].provider, "python");
  EXPECT_EQ(probes[0].name, "function__entry");
  EXPECT_EQ(probes[0].sites, 2u);
  EXPECT_TRUE(probes[0].semaphore);
  EXPECT_EQ(probes[0].arguments, "8@%r14");  // the first site's
  EXPECT_EQ(probes[0].object, "/usr/bin/python3.11");
  EXPECT_EQ(probes[1].sites, 1u);
  EXPECT_FALSE(probes[1].semaphore);
}

TEST(ListModel, FilterMatchesProviderColonName) {
  const std::vector<UsdtNote> notes = {note("python", "function__entry", 0x10),
                                       note("python", "gc__start", 0x20),
                                       note("libc", "setjmp", 0x40)};
  EXPECT_EQ(list_probes("x", notes, "python:*").size(), 2u);
  EXPECT_EQ(list_probes("x", notes, "*:setjmp").size(), 1u);
  EXPECT_TRUE(list_probes("x", notes, "setjmp").empty());  // the provider is part of the name
}

TEST(ListModel, SortOrdersEverySectionAndDropsLibrariesFoundTwice) {
  Listing listing;
  auto function = [](std::string name, std::string object, std::uint64_t address) {
    return ListedFunction{.name = name, .mangled = name, .object = object, .address = address};
  };
  auto probe = [](std::string object, std::string provider, std::string name) {
    return ListedProbe{.object = object, .provider = provider, .name = name, .arguments = ""};
  };
  listing.functions = {function("b", "/x", 0), function("a", "/y", 0), function("a", "/x", 2),
                       function("a", "/x", 1)};
  listing.usdt = {probe("/x", "p", "z"), probe("/x", "a", "z"), probe("/a", "p", "z")};
  listing.db_libraries = {{DbVendor::kSqlite, "/lib/libsqlite3.so.0", DbFound::kMapped},
                          {DbVendor::kPostgresql, "/lib/libpq.so.5", DbFound::kMapped},
                          {DbVendor::kSqlite, "/lib/libsqlite3.so.0", DbFound::kNeeded}};
  sort_listing(listing);
  ASSERT_EQ(listing.functions.size(), 4u);
  EXPECT_EQ(listing.functions[0].object + std::to_string(listing.functions[0].address), "/x1");
  EXPECT_EQ(listing.functions[1].object + std::to_string(listing.functions[1].address), "/x2");
  EXPECT_EQ(listing.functions[2].object, "/y");
  EXPECT_EQ(listing.functions[3].name, "b");
  EXPECT_EQ(listing.usdt[0].provider, "a");
  EXPECT_EQ(listing.usdt[1].object, "/a");
  ASSERT_EQ(listing.db_libraries.size(), 2u);
  EXPECT_EQ(listing.db_libraries[0].vendor, DbVendor::kPostgresql);
  EXPECT_EQ(listing.db_libraries[1].found, DbFound::kMapped);
}

// --- the vendor of a library (shared with the DB tracing, agent/db_targets.h) ------------------

TEST(ListModel, ClientLibraryVendorByFileName) {
  EXPECT_EQ(client_library_vendor("/usr/lib/x86_64-linux-gnu/libpq.so.5.15"),
            DbVendor::kPostgresql);
  EXPECT_EQ(client_library_vendor("libpq.so.5"), DbVendor::kPostgresql);
  EXPECT_EQ(client_library_vendor("/usr/lib/x86_64-linux-gnu/libmariadb.so.3"), DbVendor::kMysql);
  EXPECT_EQ(client_library_vendor("libmysqlclient.so.21"), DbVendor::kMysql);
  EXPECT_EQ(client_library_vendor("/lib/libsqlite3.so.0.8.6"), DbVendor::kSqlite);
  EXPECT_EQ(client_library_vendor("/lib/libpqxx.so.7"), std::nullopt);
  EXPECT_EQ(client_library_vendor("/usr/lib/x86_64-linux-gnu/libc.so.6"), std::nullopt);
}

TEST(ListModel, VendorsDefinedByAStaticallyLinkedExecutable) {
  EXPECT_EQ(vendors_defined_in({symbol("mysql_real_query", "", 0x10)}),
            std::vector<DbVendor>{DbVendor::kMysql});
  EXPECT_TRUE(vendors_defined_in({symbol("main", "", 0x10)}).empty());
}

// --- rendering -------------------------------------------------------------------------------

Listing sample_listing() {
  Listing listing;
  listing.functions = {
      {.name = "fixture::Widget::spin(int)",
       .mangled = "_ZN7fixture6Widget4spinEi",
       .object = "/opt/app/bin/server",
       .address = 0x401136,
       .size = 20},
      {.name = "std::vector<std::__cxx11::basic_string<char, std::char_traits<char>, "
               "std::allocator<char> >, std::allocator<std::__cxx11::basic_string<char, "
               "std::char_traits<char>, std::allocator<char> > > >::_M_realloc_insert(int)",
       .mangled = "_ZNSt6vectorIxE17_M_realloc_insertEi",
       .object = "/a/very/long/directory/name/that/goes/on/and/on/libsomething-with-a-long-name."
                 "so.1.2.3",
       .address = 0x7f1234567890,
       .size = 300}};
  listing.usdt = {{.object = "/usr/bin/python3.11",
                   .provider = "python",
                   .name = "function__entry",
                   .arguments = "8@%r14 8@%r15 -4@%eax 8@%rbx 8@%rcx 8@%rdx 8@%rsi 8@%rdi 8@%r8 "
                                "8@%r9 8@%r10 8@%r11 8@%r12 8@%r13",
                   .semaphore = true,
                   .sites = 2}};
  listing.db_libraries = {
      {DbVendor::kPostgresql, "/usr/lib/x86_64-linux-gnu/libpq.so.5.15", DbFound::kMapped}};
  listing.objects = 3;
  return listing;
}

TEST(ListRender, TextHasThreeSectionsWithCountsAndNoLineOver100Columns) {
  const std::string text = render_listing_text(sample_listing());
  for (const auto& line : lines_of(text)) {
    EXPECT_LE(display_width(line), kListWidth) << line;
    EXPECT_TRUE(line.empty() || line.back() != ' ') << "trailing blank: '" << line << "'";
  }
  EXPECT_NE(text.find("Functions\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fixture::Widget::spin(int)"), std::string::npos) << text;
  EXPECT_NE(text.find("0x401136"), std::string::npos) << text;
  EXPECT_NE(text.find("std::vector<std::__cxx11::basic_string"), std::string::npos) << text;
  EXPECT_NE(text.find("…"), std::string::npos) << text;
  EXPECT_NE(text.find("2 functions in 2 objects\n"), std::string::npos) << text;
  // Objects in the function and probe tables by their file name.
  EXPECT_NE(text.find("  server  "), std::string::npos) << text;
  EXPECT_EQ(text.find("/opt/app/bin/server"), std::string::npos) << text;
  EXPECT_NE(text.find("python:function__entry"), std::string::npos) << text;
  EXPECT_NE(text.find("1 USDT probe in 1 object\n"), std::string::npos) << text;
  EXPECT_NE(text.find("postgresql  /usr/lib/x86_64-linux-gnu/libpq.so.5.15  mapped"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 supported library\n"), std::string::npos) << text;
}

TEST(ListRender, TextProbeRowShowsSitesAndSemaphore) {
  const std::string text = render_listing_text(sample_listing());
  const auto lines = lines_of(text);
  const auto row = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.starts_with("python:function__entry");
  });
  ASSERT_NE(row, lines.end()) << text;
  EXPECT_NE(row->find("python3.11      2  yes"), std::string::npos) << *row;
}

TEST(ListRender, EmptySectionsSayHowManyAndTheFilter) {
  Listing listing;
  listing.filter = "nope*";
  const std::string text = render_listing_text(listing);
  EXPECT_EQ(text,
            "Functions\n0 functions matching 'nope*' in 0 objects\n\n"
            "USDT probes\n0 USDT probes matching 'nope*' in 0 objects\n\n"
            "Database client libraries\n0 supported libraries\n");
}

TEST(ListRender, JsonHasTheDocumentedShape) {
  const auto json = nlohmann::json::parse(render_listing_json(sample_listing()));
  ASSERT_TRUE(json.is_object());
  ASSERT_EQ(json.size(), 3u);
  const auto& function = json.at("functions").at(0);
  EXPECT_EQ(function.at("name"), "fixture::Widget::spin(int)");
  EXPECT_EQ(function.at("mangled"), "_ZN7fixture6Widget4spinEi");
  EXPECT_EQ(function.at("object"), "/opt/app/bin/server");
  EXPECT_EQ(function.at("address"), "0x401136");
  EXPECT_EQ(function.at("size"), 20);
  const auto& probe = json.at("usdt").at(0);
  EXPECT_EQ(probe.at("object"), "/usr/bin/python3.11");
  EXPECT_EQ(probe.at("provider"), "python");
  EXPECT_EQ(probe.at("name"), "function__entry");
  EXPECT_TRUE(probe.at("arguments").get<std::string>().starts_with("8@%r14 8@%r15"));
  EXPECT_EQ(probe.at("semaphore"), true);
  EXPECT_EQ(probe.at("sites"), 2);
  const auto& library = json.at("db_libraries").at(0);
  EXPECT_EQ(library.at("vendor"), "postgresql");
  EXPECT_EQ(library.at("object"), "/usr/lib/x86_64-linux-gnu/libpq.so.5.15");
  EXPECT_EQ(library.at("found"), "mapped");
}

TEST(ListRender, JsonOfAnEmptyListingHasEmptyArrays) {
  const auto json = nlohmann::json::parse(render_listing_json(Listing{}));
  EXPECT_EQ(json, nlohmann::json::parse(R"({"functions":[],"usdt":[],"db_libraries":[]})"));
}

TEST(ListRender, JsonStaysValidForNamesThatAreNotUtf8) {
  Listing listing;
  listing.functions = {{.name = "bad\xff\xfename", .mangled = "bad\xff\xfename", .object = "x"}};
  const auto json = nlohmann::json::parse(render_listing_json(listing));
  EXPECT_EQ(json.at("functions").at(0).at("name"), "bad\xEF\xBF\xBD\xEF\xBF\xBDname");
}

// --- options ---------------------------------------------------------------------------------

ListCliResult parse(std::vector<const char*> args) {
  args.insert(args.begin(), "list");
  return parse_list_cli(static_cast<int>(args.size()), args.data());
}

TEST(ListCli, PidOrBinaryWithFilterAndJson) {
  const auto by_pid = parse({"--pid", "42", "--filter", "py*", "--json"}).options;
  EXPECT_EQ(by_pid.pid, 42);
  EXPECT_FALSE(by_pid.binary);
  EXPECT_EQ(by_pid.filter, "py*");
  EXPECT_TRUE(by_pid.json);
  const auto by_binary = parse({"--binary", "/usr/bin/python3.11"}).options;
  EXPECT_EQ(by_binary.binary, "/usr/bin/python3.11");
  EXPECT_FALSE(by_binary.pid);
  EXPECT_TRUE(by_binary.filter.empty());
  EXPECT_FALSE(by_binary.json);
  EXPECT_EQ(parse({"-p", "7"}).options.pid, 7);
}

TEST(ListCli, NeitherOrBothTargetsIsAUsageError) {
  EXPECT_THROW(parse({}), UsageError);
  EXPECT_THROW(parse({"--json"}), UsageError);
  EXPECT_THROW(parse({"--pid", "1", "--binary", "/bin/true"}), UsageError);
  try {
    parse({});
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("usage: profilis-agent list"), std::string::npos)
        << e.what();
  }
}

TEST(ListCli, MalformedOptionsAreUsageErrors) {
  EXPECT_THROW(parse({"--pid", "abc"}), UsageError);
  EXPECT_THROW(parse({"--pid", "0"}), UsageError);
  EXPECT_THROW(parse({"--binary"}), UsageError);
  EXPECT_THROW(parse({"--binary", "/bin/true", "--fn", "x"}), UsageError);
}

TEST(ListCli, HelpDescribesTheSubcommand) {
  const auto result = parse({"--help"});
  ASSERT_TRUE(result.print_and_exit);
  const std::string& help = *result.print_and_exit;
  for (const char* needle : {"--pid", "--binary", "--filter", "--json", "USDT", "DT_NEEDED"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle << " missing from:\n" << help;
  }
}

// --- DT_NEEDED, on the ELF fixtures ------------------------------------------------------------

// What binutils' readelf, which shares no code with the reader, lists as NEEDED.
std::vector<std::string> readelf_needed(const std::string& path) {
  std::vector<std::string> needed;
  FILE* pipe = popen(("readelf -dW '" + path + "'").c_str(), "r");
  if (pipe == nullptr) return needed;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    const std::string text(line);
    const auto open = text.find("(NEEDED)");
    const auto name = text.find('[', open);
    if (open != std::string::npos && name != std::string::npos) {
      needed.push_back(text.substr(name + 1, text.find(']', name) - name - 1));
    }
  }
  pclose(pipe);
  return needed;
}

TEST(ListCollect, NeededLibrariesOfTheFixtures) {
  for (const char* path : {ELF_FIXTURE_CPP, ELF_FIXTURE_PIE}) {
    const auto expected = readelf_needed(path);
    EXPECT_NE(std::find(expected.begin(), expected.end(), "libc.so.6"), expected.end()) << path;
    EXPECT_EQ(*needed_libraries(path), expected) << path;
  }
  // Linked with --as-needed and calling nothing outside itself, the library needs nothing.
  EXPECT_EQ(*needed_libraries(ELF_FIXTURE_LIB), readelf_needed(ELF_FIXTURE_LIB));
  EXPECT_FALSE(needed_libraries("/etc/passwd"));
}

TEST(ListCollect, BinaryThatIsNotElfIsAUsageError) {
  EXPECT_THROW(collect_binary("/etc/passwd", ""), UsageError);
  EXPECT_THROW(collect_binary("/nonexistent/file", ""), UsageError);
  EXPECT_THROW(collect_binary("/usr", ""), UsageError);
}

}  // namespace
}  // namespace profilis
