#include "agent/app/cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "agent/app/option_table.h"
#include "agent/common/errors.h"
#include "tests/unit/agent/app/usage_error_of.h"

namespace profilis {
namespace {

using namespace std::chrono_literals;

CliResult parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"profilis-agent"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(static_cast<int>(argv.size()), argv.data());
}

// The minimal valid command line plus `args`.
CliResult parse_with_target(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"profilis-agent", "--pid", "1", "--fn", "malloc"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(static_cast<int>(argv.size()), argv.data());
}

#define EXPECT_USAGE_ERROR(...) EXPECT_FALSE(usage_error_of([&] { (void)(__VA_ARGS__); }).empty())

TEST(ParseCli, shouldAcceptTheMinimalCommandLine) {
  const CliResult r = parse({"--pid", "42", "--fn", "malloc"});
  EXPECT_FALSE(r.print_and_exit.has_value());
  EXPECT_EQ(r.options.pids, std::vector<pid_t>{42});
  EXPECT_EQ(r.options.fn_specs, std::vector<std::string>{"malloc"});
}

TEST(ParseCli, shouldUseDocumentedDefaults) {
  const Options o = parse({"--pid", "42", "--fn", "malloc"}).options;
  EXPECT_EQ(o.queue_size, 8192u);
  EXPECT_EQ(o.batch_max, 256u);
  EXPECT_EQ(o.flush_interval, 500ms);
  EXPECT_EQ(o.sink_timeout, 1000ms);
  EXPECT_EQ(o.ring_buffer_bytes, 8u << 20);
  EXPECT_EQ(o.jsonl_prefix, "profilis");
  EXPECT_FALSE(o.jsonl_dir.has_value());
  EXPECT_FALSE(o.console.has_value());
  EXPECT_FALSE(o.duration.has_value());
  EXPECT_EQ(o.min_duration_ns, 0u);
  EXPECT_EQ(o.service, "");
  EXPECT_FALSE(o.verbose);
}

TEST(ParseCli, shouldRepeatPidAndFn) {
  const Options o =
      parse({"--pid", "1", "-p", "22", "--fn", "malloc", "--pid", "333", "--fn", "libc.so.6:free"})
          .options;
  EXPECT_EQ(o.pids, (std::vector<pid_t>{1, 22, 333}));
  EXPECT_EQ(o.fn_specs, (std::vector<std::string>{"malloc", "libc.so.6:free"}));
}

// A repeatable option takes one value per occurrence, as written: no list syntax of the parser's
// own ("[a,b]"), no second value after a space.
TEST(ParseCli, shouldTakeOneValueAsWrittenPerOccurrence) {
  const CliResult r = parse({"--node", "--exclude-comm", "psql", "--exclude-comm", "p?*"});
  EXPECT_EQ(r.options.exclude_comms, (std::vector<std::string>{"psql", "p?*"}));
  EXPECT_TRUE(r.options.node);
  const CliResult b = parse({"--binary", "/srv/[a]"});
  EXPECT_EQ(b.options.binaries, (std::vector<std::string>{"/srv/[a]"}));
  EXPECT_USAGE_ERROR(parse({"--node", "--include-comm", "[a]"}));
  EXPECT_USAGE_ERROR(parse({"--pid", "42", "--fn", "a", "b"}));
}

TEST(ParseCli, shouldAcceptEqualsSyntaxForOptions) {
  const Options o = parse({"--pid=7", "--fn=ns::Cls::*", "--queue-size=10"}).options;
  EXPECT_EQ(o.pids, std::vector<pid_t>{7});
  EXPECT_EQ(o.fn_specs, std::vector<std::string>{"ns::Cls::*"});
  EXPECT_EQ(o.queue_size, 10u);
}

TEST(ParseCli, shouldRequirePid) { EXPECT_USAGE_ERROR(parse({"--fn", "malloc"})); }

// Without --fn the database client libraries are traced (--db auto). With --db none the target's
// profilis:* markers may still be there to trace: whether anything is left is known only once the
// target is inspected.
TEST(ParseCli, shouldLeaveNothingToTraceToTheTarget) {
  EXPECT_TRUE(parse({"--pid", "1", "--db", "none"}).options.db_vendors.empty());
  const Options o = parse({"--pid", "1"}).options;
  EXPECT_TRUE(o.fn_specs.empty());
  EXPECT_EQ(o.db_vendors.size(), 3u);
}

TEST(ParseCli, shouldCollectUsdtSpecs) {
  const Options o = parse({"--pid", "1", "--usdt", "libstdc++.so.6:libstdcxx:throw", "--usdt",
                           "postgresql:query__start,query__done"})
                        .options;
  EXPECT_EQ(o.usdt_specs, (std::vector<std::string>{"libstdc++.so.6:libstdcxx:throw",
                                                    "postgresql:query__start,query__done"}));
}

TEST(ParseCli, shouldRejectMalformedUsdtSpecs) {
  for (const char* spec : {"throw", ":throw", "libstdcxx:", "a:b:c,", "a:b:c,d,e", "p:,end"}) {
    EXPECT_USAGE_ERROR(parse({"--pid", "1", "--usdt", spec})) << spec;
  }
}

TEST(ParseCli, shouldCollectPythonFnSpecs) {
  const Options o =
      parse({"--pid", "1", "--python-fn", "app.py:handle_*", "--python-fn", "do_GET"}).options;
  EXPECT_EQ(o.python_fn_specs, (std::vector<std::string>{"app.py:handle_*", "do_GET"}));
}

TEST(ParseCli, shouldRejectBadPythonFnSpecs) {
  for (const char* spec : {"", "x.py:", ":f", "f[0]"}) {
    EXPECT_USAGE_ERROR(parse({"--pid", "1", "--python-fn", spec})) << spec;
  }
  std::vector<const char*> nine = {"profilis-agent", "--pid", "1"};
  for (int i = 0; i < 9; ++i) nine.insert(nine.end(), {"--python-fn", "f"});
  EXPECT_USAGE_ERROR(parse_cli(static_cast<int>(nine.size()), nine.data()));
  EXPECT_USAGE_ERROR(parse({"--node", "--python-fn", "f"}));
}

TEST(ParseCli, shouldParseDbListAndSqlText) {
  const Options o = parse({"--pid", "1", "--db", "sqlite,postgresql", "--sql-text", "raw",
                           "--sql-max-bytes", "512"})
                        .options;
  EXPECT_EQ(o.db_vendors, (std::vector<DbVendor>{DbVendor::kSqlite, DbVendor::kPostgresql}));
  EXPECT_EQ(o.sql_text, SqlTextMode::kRaw);
  EXPECT_EQ(o.sql_max_bytes, 512u);
  EXPECT_EQ(parse({"--pid", "1"}).options.sql_text, SqlTextMode::kRedacted);
  EXPECT_EQ(parse({"--pid", "1", "--sql-text", "off"}).options.sql_text, SqlTextMode::kOff);
}

TEST(ParseCli, shouldRejectUnknownDbVendorNamingTheKnownOnes) {
  try {
    parse({"--pid", "1", "--db", "postgresql,oracle"});
    FAIL() << "no UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("oracle"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("postgresql, mysql, sqlite"), std::string::npos)
        << e.what();
  }
  EXPECT_USAGE_ERROR(parse({"--pid", "1", "--sql-text", "some"}));
  EXPECT_USAGE_ERROR(parse({"--pid", "1", "--sql-max-bytes", "5000"}));
}

TEST(ParseCli, shouldRequireSomethingWithAnEmptyCommandLine) { EXPECT_USAGE_ERROR(parse({})); }

TEST(ParseCli, shouldRejectNonNumericPid) {
  EXPECT_USAGE_ERROR(parse({"--pid", "abc", "--fn", "malloc"}));
  EXPECT_USAGE_ERROR(parse({"--pid", "12abc", "--fn", "malloc"}));
}

TEST(ParseCli, shouldRejectNonPositivePid) {
  EXPECT_USAGE_ERROR(parse({"--pid", "0", "--fn", "malloc"}));
  EXPECT_USAGE_ERROR(parse({"--pid=-3", "--fn", "malloc"}));
}

TEST(ParseCli, shouldRejectMissingOptionValue) {
  EXPECT_USAGE_ERROR(parse({"--fn", "malloc", "--pid"}));
}

TEST(ParseCli, shouldRejectUnknownOption) {
  const std::string message = usage_error_of([] { parse_with_target({"--bogus"}); });
  EXPECT_NE(message.find("--bogus"), std::string::npos) << message;
  EXPECT_USAGE_ERROR(parse_with_target({"--bogus=1"}));
  EXPECT_USAGE_ERROR(parse_with_target({"-z"}));
}

TEST(ParseCli, shouldRejectStrayPositionalArgument) {
  // Placed first: after --pid/--fn it would be taken as one more value of those vector options.
  EXPECT_USAGE_ERROR(parse({"extra", "--pid", "1", "--fn", "malloc"}));
}

TEST(ParseCli, shouldLeaveConsoleUnsetWithoutTheFlag) {
  EXPECT_FALSE(parse_with_target({}).options.console.has_value());
}

TEST(ParseCli, shouldSelectCompactConsoleForBareFlag) {
  const Options o = parse_with_target({"--console"}).options;
  ASSERT_TRUE(o.console.has_value());
  EXPECT_EQ(*o.console, JsonStyle::kCompact);
}

TEST(ParseCli, shouldSelectConsoleStyleFromValue) {
  const Options pretty = parse_with_target({"--console=pretty"}).options;
  ASSERT_TRUE(pretty.console.has_value());
  EXPECT_EQ(*pretty.console, JsonStyle::kPretty);
  const Options compact = parse_with_target({"--console=compact"}).options;
  ASSERT_TRUE(compact.console.has_value());
  EXPECT_EQ(*compact.console, JsonStyle::kCompact);
}

TEST(ParseCli, shouldRejectUnknownConsoleStyle) {
  EXPECT_USAGE_ERROR(parse_with_target({"--console=bad"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--console=PRETTY"}));
}

TEST(ParseCli, shouldConvertFractionalDurationSecondsToMilliseconds) {
  const Options o = parse_with_target({"--duration", "1.5"}).options;
  ASSERT_TRUE(o.duration.has_value());
  EXPECT_EQ(*o.duration, 1500ms);
  EXPECT_EQ(*parse_with_target({"--duration", "10"}).options.duration, 10000ms);
}

TEST(ParseCli, shouldRoundTinyDurationUpToOneMillisecond) {
  const Options o = parse_with_target({"--duration", "0.0001"}).options;
  ASSERT_TRUE(o.duration.has_value());
  EXPECT_EQ(*o.duration, 1ms);
}

TEST(ParseCli, shouldRejectNegativeDuration) {
  EXPECT_USAGE_ERROR(parse_with_target({"--duration", "-5"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--duration=-5"}));
}

TEST(ParseCli, shouldRejectZeroAndNonNumericDuration) {
  EXPECT_USAGE_ERROR(parse_with_target({"--duration", "0"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--duration", "soon"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--duration", "inf"}));
}

// "nan" passes CLI11's PositiveNumber range check (every comparison with NaN is false) and then
// fails `duration_s > 0`, so the option is silently ignored and the agent runs forever.
TEST(ParseCli, shouldRejectNanDuration) {
  EXPECT_USAGE_ERROR(parse_with_target({"--duration", "nan"}));
}

// A duration beyond what std::chrono::milliseconds holds must be refused, never wrapped into a
// negative or zero one (casting 1e23 ms to int64 is undefined behaviour); exponents are no syntax
// of a duration.
TEST(ParseCli, shouldRefuseHugeDurationNamingTheOption) {
  for (const char* huge : {"1e20", "1e300", "99999999999999999999999", "876001h", "3153600001"}) {
    SCOPED_TRACE(huge);
    const std::string message = usage_error_of([&] { parse_with_target({"--duration", huge}); });
    EXPECT_NE(message.find("--duration"), std::string::npos) << message;
  }
  EXPECT_EQ(*parse_with_target({"--duration", "876000h"}).options.duration, 876000h);
}

TEST(ParseCli, shouldTakeUnitsInEveryDurationOption) {
  const Options o =
      parse_with_target({"--duration", "10s", "--flush-interval", "2s", "--sink-timeout", "1.5s",
                         "--jsonl-rotate-secs", "5m", "--min-duration", "1.5ms"})
          .options;
  EXPECT_EQ(*o.duration, 10s);
  EXPECT_EQ(o.flush_interval, 2s);
  EXPECT_EQ(o.sink_timeout, 1500ms);
  EXPECT_EQ(o.jsonl_rotate_secs, 300u);
  EXPECT_EQ(o.min_duration_ns, 1'500'000u);
  EXPECT_EQ(*parse_with_target({"--duration", "1h"}).options.duration, 1h);
  EXPECT_EQ(*parse_with_target({"--duration", "250ms"}).options.duration, 250ms);
}

// What a number without a unit meant before units were accepted, it still means.
TEST(ParseCli, shouldKeepTheUnitOfABareNumber) {
  const Options o = parse_with_target({"--duration", "2", "--flush-interval", "20",
                                       "--sink-timeout", "300", "--jsonl-rotate-secs", "60"})
                        .options;
  EXPECT_EQ(*o.duration, 2s);
  EXPECT_EQ(o.flush_interval, 20ms);
  EXPECT_EQ(o.sink_timeout, 300ms);
  EXPECT_EQ(o.jsonl_rotate_secs, 60u);
}

TEST(ParseCli, shouldRoundDurationsUpToTheOptionsResolution) {
  const Options o = parse_with_target({"--duration", "1500us", "--flush-interval", "1.2ms",
                                       "--jsonl-rotate-secs", "1ms"})
                        .options;
  EXPECT_EQ(*o.duration, 2ms);
  EXPECT_EQ(o.flush_interval, 2ms);
  EXPECT_EQ(o.jsonl_rotate_secs, 1u);
  EXPECT_EQ(parse_with_target({"--jsonl-rotate-secs", "0"}).options.jsonl_rotate_secs, 0u);
}

TEST(ParseCli, shouldRefuseDurationsOutsideTheOptionsRange) {
  for (const auto& [option, value] :
       std::vector<std::pair<const char*, const char*>>{{"--flush-interval", "0"},
                                                        {"--flush-interval", "61m"},
                                                        {"--sink-timeout", "9ms"},
                                                        {"--sink-timeout", "2h"},
                                                        {"--duration", "0s"},
                                                        {"--jsonl-rotate-secs", "-1"},
                                                        {"--min-duration", "-1ms"}}) {
    SCOPED_TRACE(std::string(option) + " " + value);
    const std::string message = usage_error_of([&] { parse_with_target({option, value}); });
    EXPECT_NE(message.find(option), std::string::npos) << message;
    EXPECT_NE(message.find("out of range"), std::string::npos) << message;
  }
}

TEST(ParseCli, shouldParseMinDuration) {
  EXPECT_EQ(parse_with_target({"--min-duration", "250us"}).options.min_duration_ns, 250'000u);
  EXPECT_EQ(parse_with_target({"--min-duration=1ms"}).options.min_duration_ns, 1'000'000u);
}

TEST(ParseCli, shouldRejectMinDurationWithoutUnit) {
  EXPECT_USAGE_ERROR(parse_with_target({"--min-duration", "5"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--min-duration", "fast"}));
}

TEST(ParseCli, shouldParseCollectorOptions) {
  const Options o =
      parse_with_target({"--queue-size", "10", "--batch-max", "3", "--flush-interval", "25"})
          .options;
  EXPECT_EQ(o.queue_size, 10u);
  EXPECT_EQ(o.batch_max, 3u);
  EXPECT_EQ(o.flush_interval, 25ms);
}

TEST(ParseCli, shouldParseRingBufferSizeAndSinkTimeout) {
  const Options o =
      parse_with_target({"--ring-buffer-size", "64M", "--sink-timeout", "250"}).options;
  EXPECT_EQ(o.ring_buffer_bytes, 64u << 20);
  EXPECT_EQ(o.sink_timeout, 250ms);
  EXPECT_USAGE_ERROR(parse_with_target({"--ring-buffer-size", "3M"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--sink-timeout", "0"}));
}

TEST(ParseCli, shouldRejectOutOfRangeCollectorOptions) {
  EXPECT_USAGE_ERROR(parse_with_target({"--queue-size", "0"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--queue-size", "-1"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--batch-max", "0"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--flush-interval", "0"}));
  EXPECT_USAGE_ERROR(parse_with_target({"--flush-interval", "ten"}));
}

// Every numeric option: past 2^64, at 2^64, one past its maximum, and negative (which CLI11 would
// wrap into a huge unsigned value). Durations with and without a unit, sizes with one.
struct NumericCase {
  const char* option;
  std::vector<const char*> refused;
};

const std::vector<NumericCase>& numeric_cases() {
  static const std::vector<NumericCase> cases = {
      {"--pid", {"99999999999999999999999", "18446744073709551616", "2147483648", "-1", "0"}},
      {"--sql-max-bytes", {"99999999999999999999999", "4294967312", "1025", "-1", "15"}},
      {"--queue-size", {"99999999999999999999999", "18446744073709551617", "16777217", "-1"}},
      {"--batch-max", {"99999999999999999999999", "18446744073709551616", "1048577", "-1"}},
      {"--jsonl-rotate-bytes",
       {"99999999999999999999999", "18446744073709551615", "9223372036854775808", "-1", "1e3"}},
      {"--jsonl-rotate-secs",
       {"99999999999999999999999", "18446744073709551616", "3153600001", "-1", "-1s"}},
      {"--flush-interval",
       {"99999999999999999999999", "18446744073709551616ms", "3600001", "-1", "-500"}},
      {"--sink-timeout", {"99999999999999999999999", "18446744073709551616", "3600001", "-1"}},
      {"--duration", {"99999999999999999999999", "18446744073709551616s", "-1", "-0.5"}},
      {"--min-duration",
       {"99999999999999999999999ns", "18446744073709551616ns", "3153600000000000001ns", "-1ms"}},
      {"--ring-buffer-size",
       {"99999999999999999999999", "18446744073709551616", "2G", "-4K", "4294967296"}},
  };
  return cases;
}

TEST(ParseCli, shouldRefuseOutOfRangeNumbersInEveryNumericOptionNamingIt) {
  for (const NumericCase& c : numeric_cases()) {
    for (const char* value : c.refused) {
      SCOPED_TRACE(std::string(c.option) + " " + value);
      const std::string message = usage_error_of([&] { parse_with_target({c.option, value}); });
      EXPECT_NE(message.find(std::string(c.option) + ":"), std::string::npos) << message;
      EXPECT_NE(message.find(value), std::string::npos) << "quote the value: " << message;
      // With = too: then CLI11 cannot mistake a negative number for an option.
      const std::string joined = std::string(c.option) + "=" + value;
      EXPECT_USAGE_ERROR(parse_with_target({joined.c_str()}));
    }
  }
}

TEST(ParseCli, shouldAcceptTheLargestValueOfEveryNumericOption) {
  const Options o = parse({"--pid",
                           "2147483647",
                           "--sql-max-bytes",
                           "1024",
                           "--queue-size",
                           "16777216",
                           "--batch-max",
                           "1048576",
                           "--jsonl-rotate-bytes",
                           "9223372036854775807",
                           "--jsonl-rotate-secs",
                           "876000h",
                           "--flush-interval",
                           "1h",
                           "--sink-timeout",
                           "3600000",
                           "--duration",
                           "3153600000",
                           "--min-duration",
                           "876000h",
                           "--ring-buffer-size",
                           "1G"})
                        .options;
  EXPECT_EQ(o.pids, std::vector<pid_t>{2147483647});
  EXPECT_EQ(o.sql_max_bytes, 1024u);
  EXPECT_EQ(o.queue_size, 16777216u);
  EXPECT_EQ(o.batch_max, 1048576u);
  EXPECT_EQ(o.jsonl_rotate_bytes, 9223372036854775807u);
  EXPECT_EQ(o.jsonl_rotate_secs, 3153600000u);
  EXPECT_EQ(o.flush_interval, 1h);
  EXPECT_EQ(o.sink_timeout, 1h);
  EXPECT_EQ(*o.duration, 876000h);
  EXPECT_EQ(o.min_duration_ns, 3153600000000000000u);
  EXPECT_EQ(o.ring_buffer_bytes, 1u << 30);
}

TEST(ParseCli, shouldRefuseNumbersInOtherSyntaxes) {
  for (const char* value : {"0x10", "+5", " 5", "5 ", "1.5", "1e3", "1_000", "", "0o7"}) {
    SCOPED_TRACE(std::string("'") + value + "'");
    const std::string message = usage_error_of([&] { parse_with_target({"--queue-size", value}); });
    EXPECT_NE(message.find("--queue-size"), std::string::npos) << message;
  }
}

TEST(ParseCli, shouldParseSinkAndLabelOptions) {
  const Options o =
      parse_with_target({"--jsonl-dir", "/tmp/out", "--jsonl-prefix", "trace", "--service",
                         "checkout", "--metric-labels", "k8s_namespace,k8s_pod", "-v"})
          .options;
  EXPECT_EQ(o.metric_labels,
            (std::vector<MetricLabel>{MetricLabel::kK8sNamespace, MetricLabel::kK8sPod}));
  EXPECT_EQ(parse_with_target({}).options.metric_labels, std::vector<MetricLabel>{});
  const std::string message = usage_error_of([] {
    parse_with_target({"--metric-labels", "k8s_pods"});
  });
  EXPECT_NE(message.find("--metric-labels: 'k8s_pods' is not a metric label"), std::string::npos)
      << message;
  ASSERT_TRUE(o.jsonl_dir.has_value());
  EXPECT_EQ(*o.jsonl_dir, "/tmp/out");
  EXPECT_EQ(o.jsonl_prefix, "trace");
  EXPECT_EQ(o.service, "checkout");
  EXPECT_TRUE(o.verbose);
  EXPECT_TRUE(parse_with_target({"--verbose"}).options.verbose);
}

TEST(ParseCli, shouldPrintHelpAndExit) {
  for (const char* flag : {"--help", "-h"}) {
    SCOPED_TRACE(flag);
    const CliResult r = parse({flag});  // no --pid/--fn needed
    ASSERT_TRUE(r.print_and_exit.has_value());
    EXPECT_NE(r.print_and_exit->find("Usage"), std::string::npos);
  }
}

// The names come from the parser, so an option added without help or README text fails here.
TEST(ParseCli, shouldMentionEveryOptionInHelp) {
  const CliResult r = parse({"--help"});
  ASSERT_TRUE(r.print_and_exit.has_value());
  const std::string& help = *r.print_and_exit;
  const std::vector<std::string> names = cli_option_names();
  std::vector<std::string> expected = {"--help", "--version", "--config"};
  for (const OptionSpec& spec : option_table()) expected.push_back("--" + std::string(spec.key));
  for (const std::string& name : expected) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name << " not parsed";
  }
  for (const std::string& name : names) {
    // "-p,--pid", "  --fn SPEC", "--console{compact}": a name ends where the option list says so.
    const std::regex listed("(^|[ ,])" + name + "([ ,{=]|$)", std::regex::multiline);
    EXPECT_TRUE(std::regex_search(help, listed)) << "--help does not list " << name;
  }
}

std::vector<std::string> readme_table_rows() {
  std::ifstream readme(std::string(PROFILIS_SOURCE_DIR) + "/README.md");
  EXPECT_TRUE(readme.good()) << "cannot read README.md";
  std::vector<std::string> rows;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("| `-", 0) == 0) rows.push_back(line);
  }
  return rows;
}

TEST(ParseCli, shouldDocumentEveryOptionInTheReadmesTable) {
  const std::vector<std::string> rows = readme_table_rows();
  ASSERT_FALSE(rows.empty()) << "no option table (rows starting with | `-) in README.md";
  for (const std::string& name : cli_option_names()) {
    const std::regex documented("(`|, )" + name + "([` =,[]|$)");
    const bool found = std::any_of(rows.begin(), rows.end(), [&](const std::string& row) {
      return std::regex_search(row, documented);
    });
    EXPECT_TRUE(found) << "README.md's option table has no row for " << name;
  }
}

// The help shows defaults from the table; the agent runs with Options{}: they must agree.
TEST(ParseCli, shouldShowTheDefaultsItUses) {
  for (const OptionSpec& spec : option_table()) {
    if (spec.default_text.empty()) continue;
    SCOPED_TRACE(spec.key);
    Options o;
    spec.apply(o, std::string(spec.default_text));
    EXPECT_TRUE(o == Options{}) << "--" << spec.key << "'s default " << spec.default_text;
  }
}

TEST(ParseCli, shouldPrintHelpEvenWithOtherOptions) {
  const CliResult r = parse({"--pid", "1", "--help"});
  ASSERT_TRUE(r.print_and_exit.has_value());
  EXPECT_NE(r.print_and_exit->find("--pid"), std::string::npos);
}

TEST(ParseCli, shouldPrintVersionAndExit) {
  const CliResult r = parse({"--version"});
  ASSERT_TRUE(r.print_and_exit.has_value());
  EXPECT_NE(r.print_and_exit->find("profilis-agent"), std::string::npos) << *r.print_and_exit;
  EXPECT_NE(r.print_and_exit->find(PROFILIS_VERSION), std::string::npos) << *r.print_and_exit;
}

// --aggregate right after an --fn is that --fn's; anywhere else every --fn's.
TEST(ParseCli, shouldApplyAggregateToTheFnItFollowsOrToEveryFn) {
  const CliResult one =
      parse({"--pid", "1", "--fn", "a", "--aggregate", "--fn", "b", "--prometheus", ":9464"});
  EXPECT_FALSE(one.options.aggregate);
  EXPECT_EQ(one.options.aggregated_fn_specs, (std::vector<std::size_t>{0}));
  const CliResult two = parse({"--pid", "1", "--fn", "a", "--fn", "b", "--aggregate", "--fn", "c",
                               "--aggregate", "--prometheus", ":9464"});
  EXPECT_EQ(two.options.aggregated_fn_specs, (std::vector<std::size_t>{1, 2}));
  const CliResult all = parse({"--aggregate", "--pid", "1", "--fn", "a", "--prometheus", ":9464"});
  EXPECT_TRUE(all.options.aggregate);
  EXPECT_TRUE(all.options.aggregated_fn_specs.empty());
  EXPECT_FALSE(parse({"--pid", "1", "--fn", "a"}).options.aggregate);
}

// The same for --python-fn, counted apart from --fn.
TEST(ParseCli, shouldApplyAggregateToThePythonFnItFollows) {
  const CliResult r = parse({"--pid", "1", "--python-fn", "a", "--fn", "x", "--python-fn", "b",
                             "--aggregate", "--prometheus", ":9464"});
  EXPECT_FALSE(r.options.aggregate);
  EXPECT_TRUE(r.options.aggregated_fn_specs.empty());
  EXPECT_EQ(r.options.aggregated_python_fn_specs, (std::vector<std::size_t>{1}));
}

TEST(ParseCli, shouldRefuseAggregateWithoutPrometheus) {
  EXPECT_USAGE_ERROR(parse({"--pid", "1", "--fn", "a", "--aggregate"}));
  EXPECT_USAGE_ERROR(parse({"--pid", "1", "--python-fn", "f", "--aggregate"}));
}

TEST(ParseCli, shouldRefuseAggregateWithNoFunctionToAddUp) {
  EXPECT_USAGE_ERROR(parse({"--pid", "1", "--aggregate", "--prometheus", ":9464"}));
}

}  // namespace
}  // namespace profilis
