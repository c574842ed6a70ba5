#include "tests/e2e/usdt_run.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace profilis::e2e {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = 30s;  // agent start: ELF notes, BPF load, attach
constexpr auto kRunTimeout = 60s;
// The agent stops by itself once its last target exited; if it has not said so by then, it is
// asked to with SIGINT (its ordinary stop, which flushes every event).
constexpr auto kSelfStopTimeout = 10s;

std::string comm_of(pid_t pid) {
  std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm").value_or("");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

}  // namespace

bool UsdtRun::start_fixture(std::vector<std::string> argv) {
  if (!fs::exists(argv.at(0))) {
    ADD_FAILURE() << "no fixture " << argv[0];
    return false;
  }
  fixture_ = std::make_unique<Process>(std::move(argv));
  if (!fixture_->wait_for_stderr(": ready", kStartTimeout)) {
    ADD_FAILURE() << "fixture did not start: " << fixture_->err();
    return false;
  }
  comm_ = comm_of(fixture_->pid());
  return true;
}

bool UsdtRun::start_agent(const std::vector<std::string>& options, Sink sink) {
  sink_ = sink;
  // --db none unless the options say otherwise: the marker fixtures use no database client
  // library, and the agent would otherwise probe the installed ones (and take ~0.1 s to detach
  // each). DB markers are traced whatever --db says.
  std::vector<std::string> argv = {PROFILIS_AGENT_BIN, "--pid", std::to_string(fixture_->pid())};
  if (std::find(options.begin(), options.end(), "--db") == options.end()) {
    argv.insert(argv.end(), {"--db", "none"});
  }
  argv.insert(argv.end(), options.begin(), options.end());
  if (sink == Sink::kJsonl) {
    fs::create_directory(path("jsonl"));
    argv.insert(argv.end(), {"--jsonl-dir", path("jsonl")});
  } else {
    argv.emplace_back("--console");
  }
  agent_ = std::make_unique<Process>(argv);
  if (!agent_->wait_for_stderr("profilis-agent: tracing", kStartTimeout)) {
    ADD_FAILURE() << "agent did not report tracing; stderr:\n" << agent_->err();
    return false;
  }
  return true;
}

ExitStatus UsdtRun::finish() {
  EXPECT_TRUE(fixture_->write_stdin("go\n"));
  fixture_->close_stdin();
  const ExitStatus fixture = fixture_->wait(kRunTimeout);
  if (agent_) {
    if (!agent_->wait_for_stderr("all traced processes exited", kSelfStopTimeout)) {
      agent_->signal(SIGINT);
    }
    const ExitStatus agent = agent_->wait(kRunTimeout);
    EXPECT_TRUE(agent.exited() && agent.code == 0) << "agent: " << agent.describe() << "\n"
                                                   << agent_->err();
  }
  return fixture;
}

std::vector<Json> UsdtRun::events() const {
  if (!agent_) return {};
  if (sink_ == Sink::kConsole) return parse_json_lines(agent_->out(), "agent stdout");
  std::vector<Json> events;
  for (const auto& entry : fs::directory_iterator(path("jsonl"))) {
    if (entry.path().extension() != ".jsonl") continue;
    for (Json& j : read_json_lines(entry.path())) events.push_back(std::move(j));
  }
  return events;
}

void expect_event_shape(const Json& event, const std::vector<std::string>& kind_fields, pid_t pid,
                        const std::string& comm) {
  std::vector<std::string> order = {"ts_ns", "kind"};
  order.insert(order.end(), kind_fields.begin(), kind_fields.end());
  order.insert(order.end(), {"dur_ns", "pid", "tid", "comm", "service"});
  EXPECT_EQ(keys_without_container_fields(event), order) << event.dump();
  EXPECT_EQ(event.value("pid", int64_t{0}), pid) << event.dump();
  EXPECT_EQ(event.value("comm", ""), comm) << event.dump();
  EXPECT_EQ(event.value("service", ""), comm) << "service defaults to the comm: " << event.dump();
  // An unsigned count of nanoseconds, and no call of a fixture outlasts its run (a minute at most):
  // a pairing gone wrong shows up as an absurd duration.
  ASSERT_TRUE(event.contains("dur_ns") && event["dur_ns"].is_number_unsigned()) << event.dump();
  EXPECT_LT(event["dur_ns"].get<std::uint64_t>(), 60'000'000'000ull) << event.dump();
}

}  // namespace profilis::e2e
