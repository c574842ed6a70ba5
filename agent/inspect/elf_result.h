// What reading an ELF file gives: the value, or why the file could not be read. A file that is not
// ELF (or is gone) is an ordinary answer for a file found in a process's maps, and bad input only
// for a file the user named: the caller decides which, so the readers return it instead of
// throwing.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "agent/common/errors.h"

namespace profilis {

// "cannot read <what> of <path>: <reason>".
struct ElfError {
  std::string message;
};

template <typename T>
class ElfResult {
 public:
  ElfResult(T value) : result_(std::move(value)) {}         // NOLINT: implicit, as a return value
  ElfResult(ElfError error) : result_(std::move(error)) {}  // NOLINT: implicit, as a return value

  bool has_value() const { return std::holds_alternative<T>(result_); }
  explicit operator bool() const { return has_value(); }

  // Only with a value.
  T& operator*() & { return std::get<T>(result_); }
  const T& operator*() const& { return std::get<T>(result_); }
  T&& operator*() && { return std::get<T>(std::move(result_)); }
  T* operator->() { return &std::get<T>(result_); }
  const T* operator->() const { return &std::get<T>(result_); }

  // Only without a value.
  const ElfError& error() const { return std::get<ElfError>(result_); }

 private:
  std::variant<T, ElfError> result_;
};

// The value of reading a file the user named (--fn OBJECT, --usdt OBJECT, list --binary): there,
// a file that cannot be read is bad input, exit 2, with the reader's message.
template <typename T>
T value_or_usage_error(ElfResult<T> result) {
  if (!result) throw UsageError(result.error().message);
  return *std::move(result);
}

}  // namespace profilis
