// --config: a config file's keys and types (config_values), and how its values meet the command
// line's (merge_options, parse_cli).
#include "agent/app/config_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "agent/app/cli.h"
#include "agent/app/option_merge.h"
#include "agent/common/errors.h"
#include "tests/unit/agent/app/usage_error_of.h"

namespace profilis {
namespace {

using namespace std::chrono_literals;

Options from_file(std::string_view text) {
  return merge_options({}, config_values(text, "c.json"), "c.json");
}

std::string file_error(std::string_view text) {
  return usage_error_of([&] { from_file(text); });
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// A file in the test's temporary directory, removed at the end.
class ConfigFile {
 public:
  explicit ConfigFile(std::string_view text)
      : path_(testing::TempDir() + "profilis-config-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter_++) + ".json") {
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

Options parse_with_config(const std::string& path, std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"profilis-agent", "--config", path.c_str()};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(static_cast<int>(argv.size()), argv.data()).options;
}

TEST(ConfigFile, shouldReadTheLongOptionsAsKeys) {
  const Options o = from_file(R"({
    "jsonl-dir": "/var/log/profilis", "fn": ["api::*", "libc.so.6:malloc"], "pid": [42, 43],
    "console": true, "prometheus": "127.0.0.1:9464", "db": "postgresql,sqlite",
    "sql-text": "raw", "sql-max-bytes": 512, "min-duration": "250us", "jsonl-prefix": "trace",
    "jsonl-rotate-bytes": 1000, "jsonl-rotate-secs": "5m", "service": "api", "instance": "i-1",
    "worker": "w", "ring-buffer-size": "64M", "queue-size": 100, "batch-max": 10,
    "flush-interval": 20, "sink-timeout": "2s", "duration": "1h", "verbose": true,
    "usdt": "python:gc__start,gc__done", "python-fn": ["app.py:handle_*", "do_GET"]
  })");
  EXPECT_EQ(o.jsonl_dir, "/var/log/profilis");
  EXPECT_EQ(o.fn_specs, (std::vector<std::string>{"api::*", "libc.so.6:malloc"}));
  EXPECT_EQ(o.pids, (std::vector<pid_t>{42, 43}));
  EXPECT_EQ(o.console, JsonStyle::kCompact);
  EXPECT_EQ(o.prometheus, "127.0.0.1:9464");
  EXPECT_EQ(o.db_vendors, (std::vector<DbVendor>{DbVendor::kPostgresql, DbVendor::kSqlite}));
  EXPECT_EQ(o.sql_text, SqlTextMode::kRaw);
  EXPECT_EQ(o.sql_max_bytes, 512u);
  EXPECT_EQ(o.min_duration_ns, 250'000u);
  EXPECT_EQ(o.jsonl_prefix, "trace");
  EXPECT_EQ(o.jsonl_rotate_bytes, 1000u);
  EXPECT_EQ(o.jsonl_rotate_secs, 300u);
  EXPECT_EQ(o.service, "api");
  EXPECT_EQ(o.instance, "i-1");
  EXPECT_EQ(o.worker, "w");
  EXPECT_EQ(o.ring_buffer_bytes, 64u << 20);
  EXPECT_EQ(o.queue_size, 100u);
  EXPECT_EQ(o.batch_max, 10u);
  EXPECT_EQ(o.flush_interval, 20ms);
  EXPECT_EQ(o.sink_timeout, 2s);
  EXPECT_EQ(o.duration, 1h);
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.usdt_specs, std::vector<std::string>{"python:gc__start,gc__done"});
  EXPECT_EQ(o.python_fn_specs, (std::vector<std::string>{"app.py:handle_*", "do_GET"}));
}

TEST(ConfigFile, shouldTakeOneValueOrAnArrayForARepeatableOption) {
  EXPECT_EQ(from_file(R"({"pid": 42})").pids, std::vector<pid_t>{42});
  EXPECT_EQ(from_file(R"({"pid": [42], "fn": "x"})").fn_specs, std::vector<std::string>{"x"});
  // An empty array gives nothing, as if the key were not there.
  EXPECT_TRUE(from_file(R"({"pid": [42], "fn": []})").fn_specs.empty());
}

TEST(ConfigFile, shouldTreatAFalseFlagAsNoFlag) {
  const Options o = from_file(R"({"pid": 1, "console": false, "verbose": false})");
  EXPECT_FALSE(o.console.has_value());
  EXPECT_FALSE(o.verbose);
  EXPECT_EQ(from_file(R"({"pid": 1, "console": "pretty"})").console, JsonStyle::kPretty);
}

// One code path: a flag and the same value in the file give the same options.
TEST(ConfigFile, shouldGiveTheSameOptionsAsTheFlags) {
  struct Case {
    std::vector<const char*> flags;
    const char* json;
  };
  const std::vector<Case> cases = {
      {{"--pid", "7", "--pid", "8"}, R"({"pid": [7, 8]})"},
      {{"-p", "1", "--console"}, R"({"pid": 1, "console": true})"},
      {{"-p", "1", "--console=pretty"}, R"({"pid": 1, "console": "pretty"})"},
      {{"-p", "1", "-v"}, R"({"pid": 1, "verbose": true})"},
      {{"-p", "1", "--duration", "1.5"}, R"({"pid": 1, "duration": 1.5})"},
      {{"-p", "1", "--duration", "90s"}, R"({"pid": 1, "duration": "90s"})"},
      {{"-p", "1", "--flush-interval", "25"}, R"({"pid": 1, "flush-interval": 25})"},
      {{"-p", "1", "--ring-buffer-size", "4096"}, R"({"pid": 1, "ring-buffer-size": 4096})"},
      {{"-p", "1", "--db", "none"}, R"({"pid": 1, "db": "none"})"},
      {{"-p", "1", "--usdt", "a:b", "--usdt", "c:d:e,f"},
       R"({"pid": 1, "usdt": ["a:b", "c:d:e,f"]})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    std::vector<const char*> argv{"profilis-agent"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    EXPECT_TRUE(parse_cli(static_cast<int>(argv.size()), argv.data()).options == from_file(c.json));
  }
}

TEST(ConfigFile, shouldLetTheCommandLineOverrideTheFile) {
  const ConfigFile file(R"({"pid": [1, 2], "fn": ["a", "b"], "queue-size": 10,
                            "console": "pretty", "jsonl-prefix": "file", "duration": 5})");
  const Options o =
      parse_with_config(file.path(), {"--pid", "3", "--queue-size", "20", "--fn", "c"});
  EXPECT_EQ(o.pids, std::vector<pid_t>{3}) << "a repeated option's flags replace the file's list";
  EXPECT_EQ(o.fn_specs, std::vector<std::string>{"c"});
  EXPECT_EQ(o.queue_size, 20u);
  EXPECT_EQ(o.console, JsonStyle::kPretty) << "what the command line does not give, the file does";
  EXPECT_EQ(o.jsonl_prefix, "file");
  EXPECT_EQ(o.duration, 5s);
  EXPECT_EQ(parse_with_config(file.path(), {"--console"}).console, JsonStyle::kCompact);
}

// A value the file gets wrong does not matter when a flag replaces it: the flag says the whole
// truth about its option.
TEST(ConfigFile, shouldNotCheckAValueAFlagReplaces) {
  const ConfigFile file(R"({"pid": [1], "queue-size": 0})");
  EXPECT_EQ(parse_with_config(file.path(), {"--queue-size", "5"}).queue_size, 5u);
  EXPECT_CONTAINS(usage_error_of([&] { parse_with_config(file.path(), {}); }),
                  file.path() + ": \"queue-size\": '0' is out of range");
}

TEST(ConfigFile, shouldNameTheFileWhenItCannotBeRead) {
  EXPECT_CONTAINS(usage_error_of([] { parse_with_config("/nonexistent/p.json", {}); }),
                  "config file /nonexistent/p.json: cannot open: No such file or directory");
  EXPECT_CONTAINS(usage_error_of([] { parse_with_config("/", {}); }),
                  "config file /: cannot read: Is a directory");
}

TEST(ConfigFile, shouldRefuseAFileLargerThanAConfigFile) {
  const ConfigFile file("{\"fn\": \"" + std::string(1 << 20, 'x') + "\"}");
  EXPECT_CONTAINS(usage_error_of([&] {
                    parse_with_config(file.path(), {"--pid", "1"});
                  }),
                  "larger than 1 MiB");
}

TEST(ConfigFile, shouldNameFileLineAndColumnOfASyntaxError) {
  const ConfigFile file("{\n  \"pid\": [42],\n  \"fn\": \"x\",\n}\n");
  EXPECT_CONTAINS(usage_error_of([&] { parse_with_config(file.path(), {}); }),
                  file.path() + ":4:1: not valid JSON");
}

TEST(ConfigFile, shouldRefuseAnUnknownKeySuggestingTheClosest) {
  EXPECT_CONTAINS(file_error(R"({"pid": 1, "jsonl_dir": "/tmp"})"),
                  "c.json: \"jsonl_dir\": unknown option; did you mean \"jsonl-dir\"?");
  EXPECT_CONTAINS(file_error(R"({"--pid": 1})"), "did you mean \"pid\"?");
  EXPECT_CONTAINS(file_error(R"({"queue_sise": 1})"), "did you mean \"queue-size\"?");
  const std::string far = file_error(R"({"colour": "blue"})");
  EXPECT_CONTAINS(far, "c.json: \"colour\": unknown option");
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(ConfigFile, shouldRefuseCommandLineOnlyOptions) {
  for (const char* text :
       {R"({"help": true})", R"({"version": true})", R"({"config": "other.json"})"}) {
    SCOPED_TRACE(text);
    EXPECT_CONTAINS(file_error(text), "a command-line option, not for a config file");
  }
}

TEST(ConfigFile, shouldNameKeyAndExpectedTypeOfAWrongValue) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"pid": "42"})", "\"pid\": expected a number or an array of numbers, got a string"},
      {R"({"pid": [1, "2"]})",
       "\"pid\": expected a number or an array of numbers, got an array "
       "holding a string"},
      {R"({"pid": {"a": 1}})", "\"pid\": expected a number or an array of numbers, got an object"},
      {R"({"fn": [["x"]]})",
       "\"fn\": expected a string or an array of strings, got an array "
       "holding an array"},
      {R"({"jsonl-dir": 5})", "\"jsonl-dir\": expected a string, got a number"},
      {R"({"jsonl-dir": ["/a"]})", "\"jsonl-dir\": expected a string, got an array"},
      {R"({"queue-size": "10"})", "\"queue-size\": expected a number, got a string"},
      {R"({"queue-size": null})", "\"queue-size\": expected a number, got null"},
      {R"({"duration": true})", "\"duration\": expected a number or a string, got a boolean"},
      {R"({"verbose": "yes"})", "\"verbose\": expected a boolean, got a string"},
      {R"({"console": 1})", "\"console\": expected a boolean or a string, got a number"},
      {R"({"db": ["postgresql"]})", "\"db\": expected a string, got an array"},
  };
  for (const auto& [text, needle] : cases) {
    SCOPED_TRACE(text);
    EXPECT_CONTAINS(file_error(text), std::string("c.json: ") + needle);
  }
}

TEST(ConfigFile, shouldCheckValuesAsTheFlagsDoNamingFileAndKey) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"pid": [1, 0]})", "\"pid\": '0' is out of range (1 to 2147483647)"},
      {R"({"pid": -1})", "\"pid\": '-1' is out of range"},
      {R"({"pid": 1.5})", "\"pid\": '1.5' is not a whole number"},
      {R"({"queue-size": 1e3})", "\"queue-size\": '1e3' is not a whole number"},
      {R"({"sql-text": "some"})", "\"sql-text\": 'some' is not one of redacted, raw, off"},
      {R"({"db": "oracle"})", "\"db\": unknown database 'oracle'"},
      {R"({"usdt": "throw"})", "\"usdt\": 'throw': no provider"},
      {R"({"console": "bad"})", "\"console\": 'bad' is not one of compact, pretty"},
      {R"({"min-duration": 5})", "\"min-duration\": '5' is not a duration: the unit is missing"},
      {R"({"duration": "10x"})", "\"duration\": '10x' is not a duration: unknown unit 'x'"},
      {R"({"ring-buffer-size": "3M"})", "\"ring-buffer-size\": '3M': must be a power of two"},
  };
  for (const auto& [text, needle] : cases) {
    SCOPED_TRACE(text);
    EXPECT_CONTAINS(file_error(text), std::string("c.json: ") + needle);
  }
}

TEST(ConfigFile, shouldRefuseOutOfRangeNumbersInEveryNumericOption) {
  const std::vector<std::pair<const char*, std::vector<const char*>>> cases = {
      {"pid", {"99999999999999999999999", "18446744073709551616", "-1"}},
      {"sql-max-bytes", {"99999999999999999999999", "4294967312", "-1"}},
      {"queue-size", {"99999999999999999999999", "18446744073709551617", "-1"}},
      {"batch-max", {"99999999999999999999999", "1048577", "-1"}},
      {"jsonl-rotate-bytes", {"99999999999999999999999", "18446744073709551615", "-1"}},
      {"jsonl-rotate-secs", {"99999999999999999999999", "3153600001", "-1", "\"-1s\""}},
      {"flush-interval", {"99999999999999999999999", "3600001", "-1", "\"2h\""}},
      {"sink-timeout", {"99999999999999999999999", "18446744073709551616", "-1"}},
      {"duration", {"99999999999999999999999", "-1", "-0.5", "\"876001h\""}},
      {"min-duration", {"\"99999999999999999999999ns\"", "\"-1ms\""}},
      {"ring-buffer-size", {"99999999999999999999999", "4294967296", "-4096", "\"2G\""}},
  };
  for (const auto& [key, values] : cases) {
    for (const char* value : values) {
      const std::string pid = std::string(key) == "pid" ? "" : "\"pid\": 1, ";
      const std::string text = "{" + pid + "\"" + key + "\": " + value + "}";
      SCOPED_TRACE(text);
      EXPECT_CONTAINS(file_error(text), std::string("c.json: \"") + key + "\": '");
    }
  }
}

TEST(ConfigFile, shouldStillNeedSomethingToTrace) {
  EXPECT_CONTAINS(file_error(R"({"fn": ["x"]})"), "nothing to trace");
  EXPECT_CONTAINS(file_error("{}"), "\"pid\", \"binary\" or \"node\" in a --config file");
}

}  // namespace
}  // namespace profilis
