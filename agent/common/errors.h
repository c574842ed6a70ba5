// Errors cross the agent as exceptions, each carrying the exit code of docs/design.md §4; main() is
// the one place that catches them, prints the message and exits with the code.
#pragma once

#include <stdexcept>
#include <string>

namespace profilis {

enum class ExitCode : int {
  kOk = 0,
  kRuntime = 1,    // something failed while running
  kUsage = 2,      // bad usage or bad input: unknown pid, no such binary, no match, bad option
  kPrivilege = 3,  // missing privileges or kernel support
};

class AgentError : public std::runtime_error {
 public:
  AgentError(ExitCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : AgentError {
  explicit UsageError(const std::string& message) : AgentError(ExitCode::kUsage, message) {}
};

struct PrivilegeError : AgentError {
  explicit PrivilegeError(const std::string& message) : AgentError(ExitCode::kPrivilege, message) {}
};

struct RuntimeError : AgentError {
  explicit RuntimeError(const std::string& message) : AgentError(ExitCode::kRuntime, message) {}
};

// "what: strerror(err)" for failures that come with an errno.
std::string errno_message(const std::string& what, int err);

}  // namespace profilis
