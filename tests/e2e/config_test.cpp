// End to end: --config FILE. The real agent traces the fn fixture as a config file says, with flags
// on top of it; and a bad file, or a value its option refuses, exits 2 before anything is attached,
// with an error line that names the file and what is wrong in it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr auto kTimeout = 30s;
constexpr auto kRunTimeout = 60s;
constexpr int kUsage = 2;

class ConfigTest : public ::testing::Test {
 protected:
  std::string write_config(const std::string& text) {
    const std::string path = dir_.path() + "/profilis.json";
    std::ofstream(path) << text;
    return path;
  }

  std::string jsonl_dir() const { return dir_.path() + "/jsonl"; }

  TempDir dir_;
};

// The file gives the target, the function, the sink and its prefix; the command line replaces the
// function (a repeatable option: the file's list goes) and the prefix, and leaves the rest.
TEST_F(ConfigTest, TracesAsTheFileSaysWithTheFlagsOnTop) {
  PROFILIS_REQUIRE_ROOT();
  const std::string timings = dir_.path() + "/timings.jsonl";
  Process fixture({FN_FIXTURE_PIE, timings});
  ASSERT_TRUE(fixture.wait_for_stderr("fn_fixture: ready", kTimeout)) << fixture.err();
  fs::create_directory(jsonl_dir());
  const nlohmann::json config = {{"pid", {fixture.pid()}},
                                 {"fn", {"fx_sleep_ms"}},
                                 {"db", "none"},
                                 {"jsonl-dir", jsonl_dir()},
                                 {"jsonl-prefix", "fromfile"},
                                 {"duration", "2m"},
                                 {"jsonl-rotate-bytes", 100000000},
                                 {"console", false}};
  const std::string path = write_config(config.dump(2));

  Process agent(
      {PROFILIS_AGENT_BIN, "--config", path, "--fn", "fx_recurse", "--jsonl-prefix", "fromflag"});
  ASSERT_TRUE(agent.wait_for_stderr("profilis-agent: tracing", kTimeout)) << agent.err();
  ASSERT_TRUE(fixture.write_stdin("go\n"));
  const ExitStatus fixture_status = fixture.wait(kRunTimeout);
  ASSERT_TRUE(fixture_status.exited() && fixture_status.code == 0) << fixture.err();
  const ExitStatus agent_status = agent.wait(kRunTimeout);
  ASSERT_TRUE(agent_status.exited() && agent_status.code == 0) << agent_status.describe() << "\n"
                                                               << agent.err();
  EXPECT_NE(agent.err().find("all traced processes exited"), std::string::npos) << agent.err();
  EXPECT_TRUE(agent.out().empty()) << "no console sink: the file did not ask for one";

  std::size_t recurse = 0, files = 0;
  for (const auto& entry : fs::directory_iterator(jsonl_dir())) {
    const std::string name = entry.path().filename();
    EXPECT_EQ(name.rfind("fromflag-", 0), 0u) << "--jsonl-prefix replaces the file's: " << name;
    ++files;
    for (const Json& event : parse_json_lines(read_file(entry.path()).value_or(""), name)) {
      EXPECT_EQ(event.value("fn", ""), "fx_recurse") << "--fn replaces the file's list";
      EXPECT_EQ(event.value("pid", 0), fixture.pid());
      ++recurse;
    }
  }
  EXPECT_EQ(files, 1u);
  std::size_t fixture_recurse = 0;
  for (const Json& call : parse_json_lines(read_file(timings).value_or(""), timings)) {
    fixture_recurse += call.value("fn", "") == "fx_recurse";
  }
  EXPECT_EQ(fixture_recurse, 25u) << "fixture workload changed?";
  EXPECT_EQ(recurse, fixture_recurse);
}

struct BadRun {
  const char* name;
  const char* config;  // written to profilis.json; nullptr: no file there
  std::vector<std::string> args;
  std::vector<std::string> needles;  // "FILE" stands for the config file's path
};

void PrintTo(const BadRun& run, std::ostream* os) { *os << run.name; }

class BadConfigTest : public ConfigTest, public ::testing::WithParamInterface<BadRun> {};

// No root needed: the command line and the file are checked before anything else happens.
TEST_P(BadConfigTest, ExitsTwoNamingTheProblem) {
  const BadRun& bad = GetParam();
  const std::string path = bad.config ? write_config(bad.config) : dir_.path() + "/profilis.json";
  std::vector<std::string> argv = {PROFILIS_AGENT_BIN};
  for (const std::string& arg : bad.args) argv.push_back(arg == "FILE" ? path : arg);
  std::string out, err;
  const ExitStatus status = run(argv, kTimeout, &out, &err);
  ASSERT_TRUE(status.exited()) << status.describe() << "\n" << err;
  EXPECT_EQ(status.code, kUsage) << err;
  const std::size_t start = err.find("profilis-agent: error: ");
  ASSERT_NE(start, std::string::npos) << "no error line on stderr:\n" << err;
  const std::string line = err.substr(start, err.find('\n', start) - start);
  for (std::string needle : bad.needles) {
    for (auto at = needle.find("FILE"); at != std::string::npos; at = needle.find("FILE", at)) {
      needle.replace(at, 4, path);
      at += path.size();
    }
    EXPECT_NE(line.find(needle), std::string::npos) << "expected '" << needle << "' in\n" << err;
  }
  EXPECT_EQ(err.find("tracing"), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadConfigTest,
    ::testing::Values(
        BadRun{"Missing", nullptr, {"--config", "FILE"}, {"config file FILE", "No such file"}},
        BadRun{"Directory", nullptr, {"--config", "/"}, {"config file /", "Is a directory"}},
        BadRun{"NotJson",
               "{\n  \"pid\": [1],\n  \"fn\": \"x\"\n  \"db\": \"none\"\n}\n",
               {"--config", "FILE"},
               {"FILE:4:6: not valid JSON", "expected '}'"}},
        BadRun{"UnknownKey",
               R"({"pid": [1], "jsonl_dir": "/tmp"})",
               {"--config", "FILE"},
               {"FILE: \"jsonl_dir\": unknown option", "did you mean \"jsonl-dir\"?"}},
        BadRun{"WrongType",
               R"({"pid": "1"})",
               {"--config", "FILE"},
               {"FILE: \"pid\": expected a number or an array of numbers, got a string"}},
        BadRun{"Overflow",
               R"({"pid": [1], "jsonl-rotate-bytes": 99999999999999999999999})",
               {"--config", "FILE"},
               {"FILE: \"jsonl-rotate-bytes\": '99999999999999999999999' is out of range"}},
        BadRun{"NegativeDuration",
               R"({"pid": [1], "flush-interval": -5})",
               {"--config", "FILE"},
               {"FILE: \"flush-interval\": '-5' is out of range"}},
        BadRun{"CommandLineOnlyKey",
               R"({"pid": [1], "help": true})",
               {"--config", "FILE"},
               {"FILE: \"help\": a command-line option"}},
        BadRun{"NothingToTrace",
               R"({"fn": ["x"]})",
               {"--config", "FILE"},
               {"nothing to trace", "\"pid\", \"binary\" or \"node\" in a --config file"}},
        // A flag that replaces a good value of the file is checked as a flag.
        BadRun{"BadFlagOverGoodFile",
               R"({"pid": [1], "duration": "10s"})",
               {"--config", "FILE", "--duration", "10x"},
               {"--duration: '10x' is not a duration"}},
        BadRun{"FlagOverflow",
               R"({"pid": [1]})",
               {"--config", "FILE", "--jsonl-rotate-bytes", "99999999999999999999999"},
               {"--jsonl-rotate-bytes: '99999999999999999999999' is out of range"}},
        BadRun{"ListTakesNoConfig", R"({"pid": [1]})", {"list", "--config", "FILE"}, {"--config"}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace profilis::e2e
