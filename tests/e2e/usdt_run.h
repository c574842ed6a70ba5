// What the USDT end-to-end tests share: one run of a fixture under the agent (the fixture started
// and waiting, the agent attached, "go", both ended), reading its events. Fixtures print
// "<name>: ready" on stderr and wait for a line on stdin before their workload.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/json_lines.h"
#include "tests/e2e/process.h"

namespace profilis::e2e {

// How the agent is to deliver its events.
enum class Sink { kJsonl, kConsole };

class UsdtRun {
 public:
  // Starts the fixture (argv) and waits for its "ready" line; false (with a test failure) when
  // it does not come.
  bool start_fixture(std::vector<std::string> argv);

  // Attaches the agent to the fixture with `options` (and --db none, unless they have --db); false
  // (with a test failure) when it does not report tracing.
  bool start_agent(const std::vector<std::string>& options, Sink sink = Sink::kJsonl);

  // Sends "go", waits for the fixture to exit, then for the agent (which stops by itself once its
  // target is gone; SIGINT if it has not after a while). Returns the fixture's exit status.
  ExitStatus finish();

  // The agent's events, after finish().
  std::vector<Json> events() const;

  pid_t pid() const { return fixture_->pid(); }
  const std::string& comm() const { return comm_; }
  std::string fixture_err() const { return fixture_->err(); }
  std::string agent_err() const { return agent_ ? agent_->err() : std::string(); }
  // A file path in the run's own temporary directory.
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  TempDir dir_;
  std::unique_ptr<Process> fixture_;
  std::unique_ptr<Process> agent_;
  Sink sink_ = Sink::kJsonl;
  std::string comm_;
};

// Checks the fields every event has, in docs/design.md §3's order (`kind_fields` between kind and
// dur_ns), and that it is the fixture's.
void expect_event_shape(const Json& event, const std::vector<std::string>& kind_fields, pid_t pid,
                        const std::string& comm);

}  // namespace profilis::e2e
