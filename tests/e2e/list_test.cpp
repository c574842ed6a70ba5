// End to end: `profilis-agent list`, run as a program on the test fixtures, on running processes
// and on Debian's own binaries (python3.11 with its USDT probes, the mariadb client that links its
// client library statically).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr auto kTimeout = 30s;
constexpr int kUsage = 2;
constexpr const char* kPython = "/usr/bin/python3.11";
constexpr const char* kMariadb = "/usr/bin/mariadb";
constexpr const char* kNobody = "65534";
constexpr std::size_t kMaxColumns = 100;

// A system file the test needs: outside CI its absence skips the test, in CI it fails it.
#define REQUIRE_FILE(path)                                                              \
  do {                                                                                  \
    if (!fs::exists(path)) PROFILIS_SKIP_OUTSIDE_CI(std::string(path) + " is missing"); \
  } while (0)

struct Result {
  ExitStatus status;
  std::string out;
  std::string err;
};

Result list(std::vector<std::string> args, std::vector<std::string> prefix = {}) {
  Result result;
  prefix.push_back(PROFILIS_AGENT_BIN);
  prefix.push_back("list");
  prefix.insert(prefix.end(), args.begin(), args.end());
  result.status = run(prefix, kTimeout, &result.out, &result.err);
  return result;
}

// The listing as JSON, after checking that the agent succeeded.
Json list_json(std::vector<std::string> args) {
  args.push_back("--json");
  const Result result = list(args);
  EXPECT_TRUE(result.status.exited() && result.status.code == 0) << result.status.describe() << "\n"
                                                                 << result.err;
  try {
    return Json::parse(result.out);
  } catch (const Json::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << result.out.substr(0, 2000);
    return Json::object();
  }
}

std::string list_text(std::vector<std::string> args) {
  const Result result = list(std::move(args));
  EXPECT_TRUE(result.status.exited() && result.status.code == 0) << result.status.describe() << "\n"
                                                                 << result.err;
  return result.out;
}

std::size_t columns(const std::string& line) {
  std::size_t n = 0;
  for (char c : line) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void expect_narrow(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    ASSERT_LE(columns(line), kMaxColumns) << line;
  }
}

// The first function of that name in that object, or null.
const Json* find_function(const Json& listing, const std::string& name, const std::string& object) {
  for (const Json& f : listing.at("functions")) {
    if (f.at("name") == name && f.at("object") == object) return &f;
  }
  return nullptr;
}

const Json* find_probe(const Json& listing, const std::string& provider, const std::string& name) {
  for (const Json& p : listing.at("usdt")) {
    if (p.at("provider") == provider && p.at("name") == name) return &p;
  }
  return nullptr;
}

bool has_library(const Json& listing, const std::string& vendor, const std::string& object,
                 const std::string& found) {
  for (const Json& l : listing.at("db_libraries")) {
    if (l.at("vendor") == vendor && l.at("object") == object && l.at("found") == found) return true;
  }
  return false;
}

// Aliases of one address are shown once: (object, address) identifies a row.
void expect_one_row_per_address(const Json& listing) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const Json& f : listing.at("functions")) {
    const bool added = seen.emplace(f.at("object"), f.at("address")).second;
    EXPECT_TRUE(added) << "two rows for one address: " << f.dump();
  }
}

std::string real_path(const std::string& path) { return fs::canonical(path).string(); }

// A program waiting on its stdin, to be listed while it runs.
class ListProcessTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> argv, const std::string& ready) {
    process_ = std::make_unique<Process>(std::move(argv));
    ASSERT_TRUE(process_->wait_for_stderr(ready, kTimeout)) << process_->err();
  }
  std::string pid() const { return std::to_string(process_->pid()); }

  std::unique_ptr<Process> process_;
};

// --- --binary on the fixtures ------------------------------------------------------------------

TEST(ListBinary, CppFixtureNamesAreDemangledWithTheirObject) {
  const Json listing = list_json({"--binary", ELF_FIXTURE_CPP});
  for (const char* name :
       {"fixture::Widget::spin()", "fixture::Widget::spin(int)",
        "fixture::Widget::spin(double) const", "int fixture::twice<int>(int)",
        "fixture::free_function(int)", "(anonymous namespace)::hidden_helper(int)", "main"}) {
    const Json* f = find_function(listing, name, ELF_FIXTURE_CPP);
    ASSERT_NE(f, nullptr) << name << " missing from " << listing.at("functions").dump();
    EXPECT_TRUE(f->at("address").get<std::string>().starts_with("0x")) << f->dump();
  }
  const Json* spin = find_function(listing, "fixture::Widget::spin(int)", ELF_FIXTURE_CPP);
  ASSERT_NE(spin, nullptr);
  EXPECT_EQ(spin->at("mangled"), "_ZN7fixture6Widget4spinEi");
  EXPECT_TRUE(listing.at("usdt").empty());
  expect_one_row_per_address(listing);

  const std::string text = list_text({"--binary", ELF_FIXTURE_CPP});
  expect_narrow(text);
  EXPECT_NE(text.find("fixture::Widget::spin(double) const"), std::string::npos) << text;
  EXPECT_NE(text.find(fs::path(ELF_FIXTURE_CPP).filename().string()), std::string::npos) << text;
  EXPECT_NE(text.find("0 USDT probes"), std::string::npos) << text;
}

TEST(ListBinary, SharedLibraryAndStrippedExecutable) {
  const Json library = list_json({"--binary", ELF_FIXTURE_LIB});
  for (const char* name : {"fixture_lib_sum", "fixture_lib_scale", "fixture_lib_hidden"}) {
    EXPECT_NE(find_function(library, name, ELF_FIXTURE_LIB), nullptr) << name;
  }
  // Only .dynsym is left, and it still names the exported functions.
  const Json stripped = list_json({"--binary", ELF_FIXTURE_STRIPPED});
  EXPECT_NE(find_function(stripped, "main", ELF_FIXTURE_STRIPPED), nullptr);
}

TEST(ListBinary, FnFixtureHasItsTracedFunctions) {
  const Json listing = list_json({"--binary", FN_FIXTURE_PIE});
  for (const char* name : {"fx_sleep_ms", "fx_recurse", "fixture::Worker::step(int)"}) {
    EXPECT_NE(find_function(listing, name, FN_FIXTURE_PIE), nullptr) << name;
  }
}

TEST(ListBinary, FilterSelectsFunctionsByDemangledOrMangledName) {
  // The demangled name, also without its parameters and a template's return type.
  const Json widget = list_json({"--binary", ELF_FIXTURE_CPP, "--filter", "fixture::Widget::*"});
  for (const Json& f : widget.at("functions")) {
    EXPECT_NE(f.at("name").get<std::string>().find("fixture::Widget::"), std::string::npos)
        << f.dump();
  }
  for (const char* name : {"fixture::Widget::spin()", "fixture::Widget::spin(double) const",
                           "int fixture::Widget::scale<int>(int) const"}) {
    EXPECT_NE(find_function(widget, name, ELF_FIXTURE_CPP), nullptr) << name << "\n" << widget;
  }
  EXPECT_EQ(find_function(widget, "fixture::free_function(int)", ELF_FIXTURE_CPP), nullptr);

  // The mangled name: the three overloads of spin, const or not.
  const Json mangled =
      list_json({"--binary", ELF_FIXTURE_CPP, "--filter", "_ZN*7fixture6Widget4spin*"});
  EXPECT_EQ(mangled.at("functions").size(), 3u) << mangled.at("functions").dump();

  const std::string none = list_text({"--binary", ELF_FIXTURE_CPP, "--filter", "no_such_fn*"});
  EXPECT_NE(none.find("0 functions matching 'no_such_fn*'"), std::string::npos) << none;
}

TEST(ListBinary, DbClientLibrariesTheFixturesLink) {
  EXPECT_TRUE(
      has_library(list_json({"--binary", PQ_FIXTURE}), "postgresql", "libpq.so.5", "needed"));
  const Json mysql = list_json({"--binary", MYSQL_FIXTURE});
  EXPECT_TRUE(has_library(mysql, "mysql", "libmariadb.so.3", "needed")) << mysql.at("db_libraries");
  EXPECT_TRUE(list_json({"--binary", FN_FIXTURE_PIE}).at("db_libraries").empty());
}

TEST(ListBinary, MariadbClientDefinesTheApiItself) {
  REQUIRE_FILE(kMariadb);
  const Json listing = list_json({"--binary", kMariadb, "--filter", "mysql_real_query"});
  EXPECT_TRUE(has_library(listing, "mysql", kMariadb, "static")) << listing.at("db_libraries");
  EXPECT_NE(find_function(listing, "mysql_real_query", kMariadb), nullptr);
}

// --- --binary on python3.11 --------------------------------------------------------------------

TEST(ListBinary, PythonUsdtProbesAreSemaphoreGuarded) {
  REQUIRE_FILE(kPython);
  const std::string text = list_text({"--binary", kPython, "--filter", "python:*"});
  expect_narrow(text);
  for (const char* probe : {"python:function__entry", "python:function__return", "python:gc__start",
                            "python:import__find__load__start"}) {
    EXPECT_NE(text.find(probe), std::string::npos) << probe << " missing:\n" << text;
  }
  EXPECT_NE(text.find("0 functions matching 'python:*'"), std::string::npos) << text;

  const Json listing = list_json({"--binary", kPython});
  const Json* entry = find_probe(listing, "python", "function__entry");
  ASSERT_NE(entry, nullptr) << listing.at("usdt").dump();
  EXPECT_EQ(entry->at("semaphore"), true);
  EXPECT_EQ(entry->at("object"), kPython);
  EXPECT_GE(entry->at("sites").get<int>(), 1);
  EXPECT_FALSE(entry->at("arguments").get<std::string>().empty());
  EXPECT_NE(find_function(listing, "Py_Initialize", kPython), nullptr);
  EXPECT_GT(listing.at("functions").size(), 1000u);
  expect_one_row_per_address(listing);
}

// The profilis marker header's notes read like any other USDT probe's: every marker, each guarded
// by its semaphore, arguments in registers; and a <sys/sdt.h> fixture's probes beside them.
TEST(ListBinary, MarkerFixturesShowTheirUsdtProbes) {
  for (const char* fixture : {USDT_MARKERS_C_O2, USDT_MARKERS_CPP_O0}) {
    const Json listing = list_json({"--binary", fixture});
    for (const char* marker :
         {"req_begin", "req_end", "fn_begin", "fn_end", "db_begin", "db_end"}) {
      const Json* entry = find_probe(listing, "profilis", marker);
      ASSERT_NE(entry, nullptr) << fixture << " " << marker << ": " << listing.at("usdt").dump();
      EXPECT_EQ(entry->at("semaphore"), true) << marker;
      EXPECT_EQ(entry->at("arguments").get<std::string>().find('('), std::string::npos)
          << marker << " passes an argument in memory: " << entry->at("arguments");
    }
    const std::string text = list_text({"--binary", fixture, "--filter", "profilis:*"});
    expect_narrow(text);
    EXPECT_NE(text.find("profilis:fn_begin"), std::string::npos) << text;
  }
  const Json sdt = list_json({"--binary", USDT_SDT_FIXTURE});
  for (const char* probe : {"tick", "work__start", "work__done"}) {
    EXPECT_NE(find_probe(sdt, "fixture", probe), nullptr) << probe << ": " << sdt.at("usdt").dump();
  }
}

TEST(ListBinary, PythonFullListingIsFast) {
  REQUIRE_FILE(kPython);
  const auto start = std::chrono::steady_clock::now();
  const std::string text = list_text({"--binary", kPython});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 1s) << "took "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                         << " ms";
  expect_narrow(text);
}

// --- --pid -------------------------------------------------------------------------------------

TEST_F(ListProcessTest, FnFixtureAndTheLibrariesItMaps) {
  ASSERT_NO_FATAL_FAILURE(start({FN_FIXTURE_PIE, "/dev/null"}, "fn_fixture: ready"));
  const Json listing = list_json({"--pid", pid()});
  const std::string exe = real_path(FN_FIXTURE_PIE);
  EXPECT_NE(find_function(listing, "fx_sleep_ms", exe), nullptr);
  EXPECT_NE(find_function(listing, "fixture::Worker::step(int)", exe), nullptr);
  std::set<std::string> objects;
  bool nanosleep_in_libc = false;
  for (const Json& f : listing.at("functions")) {
    const std::string object = f.at("object");
    objects.insert(object);
    // glibc's nanosleep is a weak alias of __nanosleep, the global name, which is the one shown.
    nanosleep_in_libc |= f.at("name") == "__nanosleep" && object.ends_with("/libc.so.6");
  }
  EXPECT_TRUE(nanosleep_in_libc);
  EXPECT_GE(objects.size(), 3u);  // the executable, libc, libstdc++, the loader ...
  EXPECT_TRUE(listing.at("db_libraries").empty());
  expect_one_row_per_address(listing);

  const std::string text = list_text({"--pid", pid(), "--filter", "fx_*"});
  expect_narrow(text);
  EXPECT_NE(text.find("fx_sleep_ms"), std::string::npos) << text;
  EXPECT_EQ(text.find("nanosleep"), std::string::npos) << text;
}

TEST_F(ListProcessTest, PythonWithSqliteLoaded) {
  REQUIRE_FILE(kPython);
  ASSERT_NO_FATAL_FAILURE(start({kPython, "-c",
                                 "import sqlite3, sys\n"
                                 "print('python: ready', file=sys.stderr, flush=True)\n"
                                 "sys.stdin.read()\n"},
                                "python: ready"));
  const Json listing = list_json({"--pid", pid(), "--filter", "python:function__*"});
  const Json* entry = find_probe(listing, "python", "function__entry");
  ASSERT_NE(entry, nullptr) << listing.at("usdt").dump();
  EXPECT_EQ(entry->at("object"), real_path(kPython));
  EXPECT_EQ(entry->at("semaphore"), true);
  bool sqlite = false;
  for (const Json& l : listing.at("db_libraries")) {
    sqlite |= l.at("vendor") == "sqlite" && l.at("found") == "mapped" &&
              l.at("object").get<std::string>().find("libsqlite3.so") != std::string::npos;
  }
  EXPECT_TRUE(sqlite) << listing.at("db_libraries").dump();
}

// As root, any process: here one running as nobody, from a copy only root could have placed.
TEST_F(ListProcessTest, RootListsAnotherUsersProcess) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_read |
                                  fs::perms::others_exec | fs::perms::group_read |
                                  fs::perms::group_exec);
  const std::string fixture = dir.path() + "/fn_fixture";
  fs::copy_file(FN_FIXTURE_PIE, fixture);
  ASSERT_NO_FATAL_FAILURE(
      start({"setpriv", std::string("--reuid=") + kNobody, std::string("--regid=") + kNobody,
             "--clear-groups", fixture, "/dev/null"},
            "fn_fixture: ready"));
  const Json listing = list_json({"--pid", pid(), "--filter", "fx_sleep_ms"});
  EXPECT_NE(find_function(listing, "fx_sleep_ms", fixture), nullptr) << listing.dump();
}

// A library that exists only in the target's mount namespace is read through /proc/PID/root.
TEST_F(ListProcessTest, FilesInAnotherMountNamespace) {
  PROFILIS_REQUIRE_ROOT();
  TempDir dir;
  const std::string hidden = dir.path() + "/private";
  fs::create_directory(hidden);
  const std::string library = hidden + "/" + fs::path(ELF_FIXTURE_LIB).filename().string();
  const std::string script = "mount -t tmpfs profilis-list-test '" + hidden + "' && cp '" +
                             ELF_FIXTURE_LIB + "' '" + library + "' && exec env LD_PRELOAD='" +
                             library + "' '" + FN_FIXTURE_PIE + "' /dev/null";
  ASSERT_NO_FATAL_FAILURE(start(
      {"unshare", "--mount", "--propagation", "private", "sh", "-c", script}, "fn_fixture: ready"));
  ASSERT_FALSE(fs::exists(library)) << "the tmpfs should be private to the fixture";
  const Json listing = list_json({"--pid", pid(), "--filter", "fixture_lib_*"});
  EXPECT_NE(find_function(listing, "fixture_lib_sum", library), nullptr) << listing.dump();
}

// --- errors ------------------------------------------------------------------------------------

// Exit code `code` and one error line on stderr that contains `needle`.
void expect_error(const Result& result, int code, const std::string& needle) {
  ASSERT_TRUE(result.status.exited()) << result.status.describe() << "\n" << result.err;
  EXPECT_EQ(result.status.code, code) << result.err;
  EXPECT_TRUE(result.err.starts_with("profilis-agent: error: ")) << result.err;
  EXPECT_NE(result.err.find(needle), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

void expect_one_line(const Result& result) {
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
}

TEST(ListErrors, NoSuchPid) {
  const Result result = list({"--pid", "999999999"});
  expect_error(result, kUsage, "999999999");
  expect_one_line(result);
}

TEST(ListErrors, NoSuchFile) {
  const Result result = list({"--binary", "/nonexistent/profilis-list"});
  expect_error(result, kUsage, "/nonexistent/profilis-list");
  expect_one_line(result);
  EXPECT_NE(result.err.find("No such file"), std::string::npos) << result.err;
}

TEST(ListErrors, NotAnElfFile) {
  const Result file = list({"--binary", "/etc/passwd"});
  expect_error(file, kUsage, "not an ELF file");
  expect_one_line(file);
  const Result directory = list({"--binary", "/usr/bin"});
  expect_error(directory, kUsage, "not an ELF file");
  expect_one_line(directory);
}

TEST(ListErrors, NeitherOrBothTargetsShowsTheUsage) {
  expect_error(list({}), kUsage, "usage: profilis-agent list");
  expect_error(list({"--json"}), kUsage, "usage: profilis-agent list");
  expect_error(list({"--pid", std::to_string(getpid()), "--binary", FN_FIXTURE_PIE}), kUsage,
               "usage: profilis-agent list");
}

TEST(ListErrors, MalformedOptions) {
  expect_error(list({"--pid", "abc"}), kUsage, "pid");
  expect_error(list({"--binary", FN_FIXTURE_PIE, "--fn", "x"}), kUsage, "--fn");
}

TEST(ListHelp, DescribesWhatListDoes) {
  const Result result = list({"--help"});
  ASSERT_TRUE(result.status.exited()) << result.status.describe();
  EXPECT_EQ(result.status.code, 0) << result.err;
  for (const char* needle : {"--pid", "--binary", "--filter", "--json", "USDT", "libpq"}) {
    EXPECT_NE(result.out.find(needle), std::string::npos) << needle << " missing:\n" << result.out;
  }
}

}  // namespace
}  // namespace profilis::e2e
