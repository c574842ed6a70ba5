#include "agent/app/cli.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "agent/common/errors.h"

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

// Runs `f`, expects a UsageError with the usage exit code, and returns its message.
template <typename F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than UsageError: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
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

// A duration beyond what std::chrono::milliseconds holds must be refused (or at least never turn
// into a negative or zero duration); casting 1e23 ms to int64 is undefined behaviour.
TEST(ParseCli, shouldNotOverflowHugeDuration) {
  for (const char* huge : {"1e20", "1e300"}) {
    SCOPED_TRACE(huge);
    try {
      const Options o = parse_with_target({"--duration", huge}).options;
      ASSERT_TRUE(o.duration.has_value());
      EXPECT_GT(o.duration->count(), 0) << "huge --duration wrapped to " << o.duration->count();
    } catch (const UsageError& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
    }
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

TEST(ParseCli, shouldParseSinkAndLabelOptions) {
  const Options o = parse_with_target({"--jsonl-dir", "/tmp/out", "--jsonl-prefix", "trace",
                                       "--service", "checkout", "-v"})
                        .options;
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

TEST(ParseCli, shouldMentionEveryOptionInHelp) {
  const CliResult r = parse({"--help"});
  ASSERT_TRUE(r.print_and_exit.has_value());
  const std::string& help = *r.print_and_exit;
  for (const char* option : {"-p,",
                             "--pid",
                             "--fn",
                             "--min-duration",
                             "--console",
                             "compact",
                             "pretty",
                             "--jsonl-dir",
                             "--jsonl-prefix",
                             "--service",
                             "--queue-size",
                             "--batch-max",
                             "--flush-interval",
                             "--ring-buffer-size",
                             "--sink-timeout",
                             "--duration",
                             "-v,",
                             "--verbose",
                             "--version",
                             "-h,",
                             "--help"}) {
    EXPECT_NE(help.find(option), std::string::npos) << "help does not mention " << option;
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

// ---------------------------------------------------------------------------------------------
// parse_duration_ns

TEST(ParseDuration, shouldParseEveryUnit) {
  struct Case {
    const char* text;
    std::uint64_t ns;
  };
  for (const Case& c :
       {Case{"500ns", 500}, Case{"250us", 250'000}, Case{"1ms", 1'000'000},
        Case{"1.5s", 1'500'000'000}, Case{"2m", 120'000'000'000}, Case{"0ns", 0},
        Case{"0.5ms", 500'000}, Case{"1.5ms", 1'500'000}, Case{"10s", 10'000'000'000},
        Case{"1000000000s", 1'000'000'000'000'000'000}}) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_duration_ns(c.text), c.ns);
  }
}

TEST(ParseDuration, shouldRejectMalformedText) {
  for (const char* text : {"", "5", "ms", "-1ms", "1h", "1e30s", "1 ms", " 1ms", "1ms ", "1MS",
                           "1msx", "1.5", "nanms", "infs", "1d", "us5"}) {
    SCOPED_TRACE(std::string("'") + text + "'");
    const std::string message = usage_error_of([&] { (void)parse_duration_ns(text); });
    if (!message.empty()) {
      EXPECT_NE(message.find("duration"), std::string::npos) << message;
    }
  }
}

TEST(ParseDuration, shouldRejectDurationBeyondTheLimit) {
  EXPECT_USAGE_ERROR(parse_duration_ns("1000000001s"));
  EXPECT_USAGE_ERROR(parse_duration_ns("1e19ns"));
}

TEST(ParseDuration, shouldNotReadPastTheView) {
  const std::string backing = "250usXYZ";
  EXPECT_EQ(parse_duration_ns(std::string_view(backing).substr(0, 5)), 250'000u);
  EXPECT_USAGE_ERROR(parse_duration_ns(std::string_view(backing).substr(0, 3)));  // "250"
}

// parse_ring_buffer_size

TEST(ParseRingBufferSize, shouldAcceptBytesAndBinaryUnits) {
  const struct {
    const char* text;
    std::uint32_t bytes;
  } cases[] = {{"4096", 4096},      {"4K", 4096},          {"4k", 4096},       {"64KiB", 64u << 10},
               {"16M", 16u << 20},  {"16MB", 16u << 20},   {"8mib", 8u << 20}, {"1G", 1u << 30},
               {"1024M", 1u << 30}, {"1048576B", 1u << 20}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_ring_buffer_size(c.text), c.bytes);
  }
}

TEST(ParseRingBufferSize, shouldRejectSizesTheKernelRefusesNamingTheOption) {
  for (const char* text :
       {"", "0", "1", "2048", "3000", "5K", "12M", "2G", "4096G", "-4K", "16Q", "16MM", "M", "abc",
        "16 M", "99999999999999999999999", "18446744073709551616"}) {
    SCOPED_TRACE(text);
    const std::string message = usage_error_of([&] { (void)parse_ring_buffer_size(text); });
    EXPECT_NE(message.find("--ring-buffer-size"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace profilis
