// libFuzzer target for --config: the input is a config file's text, read (config_values) and
// merged into options (merge_options) as parse_cli does when no flag is given. Run by
// scripts/fuzz.sh (clang only).
// The parser reports every error as a UsageError (exit code 2, turned into an exit by main alone),
// so a bad file costs this process nothing and the fuzzer runs on. Any other exception escapes to
// libFuzzer, which reports it as a crash; so do the sanitizers' findings and a broken promise
// below.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/app/config_file.h"
#include "agent/app/option_merge.h"
#include "agent/common/errors.h"

namespace {

constexpr const char* kFile = "fuzz.json";

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "config_fuzz: %s: [%.*s]\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

// What merge_options promises about options it returns, whatever the file said.
void check(const profilis::Options& o) {
  using namespace std::chrono_literals;
  if (o.pids.empty() && o.binaries.empty() && !o.node) fail("options without a target", "");
  const bool by_file = o.node || !o.binaries.empty();
  if (!by_file &&
      !(o.include_comms.empty() && o.exclude_comms.empty() && o.include_containers.empty())) {
    fail("process rules without --node or --binary", "");
  }
  for (const auto* globs : {&o.include_comms, &o.exclude_comms}) {
    if (globs->size() > 8) fail("more than 8 process-name globs", "");
    for (const auto& glob : *globs) {
      if (glob.empty() || glob.size() > 31) fail("a process-name glob of a bad length", glob);
    }
  }
  for (pid_t pid : o.pids) {
    if (pid <= 0) fail("a pid that is not positive", std::to_string(pid));
  }
  if (o.queue_size < 1 || o.queue_size > (1u << 24)) fail("queue size", "");
  if (o.batch_max < 1 || o.batch_max > (1u << 20)) fail("batch max", "");
  if (o.sql_max_bytes < 16 || o.sql_max_bytes > 1024) fail("sql max bytes", "");
  if (o.flush_interval < 1ms || o.flush_interval > 1h) fail("flush interval", "");
  if (o.sink_timeout < 10ms || o.sink_timeout > 1h) fail("sink timeout", "");
  if (o.duration && *o.duration <= 0ms) fail("duration not positive", "");
  if ((o.ring_buffer_bytes & (o.ring_buffer_bytes - 1)) != 0) fail("ring buffer size", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check(profilis::merge_options({}, profilis::config_values(text, kFile), kFile));
  } catch (const profilis::UsageError& e) {
    const std::string_view message = e.what();
    // A user must learn which file is wrong: every message but those about the whole run says.
    const bool about_the_run = message.rfind("nothing to trace", 0) == 0 ||
                               message.rfind("--include-comm, --exclude-comm", 0) == 0 ||
                               message.rfind("at most ", 0) == 0 ||
                               message.rfind("--fn, --usdt and --python-fn need", 0) == 0;
    if (message.rfind(kFile, 0) != 0 && !about_the_run) {
      fail("a message that does not name the file", message);
    }
    if (e.code() != profilis::ExitCode::kUsage) fail("not exit code 2", message);
  }
  return 0;
}
