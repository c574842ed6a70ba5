#include "agent/inspect/demangle.h"

#include <cxxabi.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <string>

namespace profilis {
namespace {

constexpr auto kNone = std::string_view::npos;

// Demangled names that are not "[return type] name(params) [qualifiers]": a thunk is not the
// function it adjusts `this` for, so it must not answer to that function's name.
constexpr std::array<std::string_view, 5> kSpecialPrefixes = {
    "virtual thunk to ", "non-virtual thunk to ", "covariant return thunk to ",
    "transaction clone for ", "construction vtable for "};

bool is_special(std::string_view demangled) {
  for (std::string_view prefix : kSpecialPrefixes) {
    if (demangled.starts_with(prefix)) return true;
  }
  return false;
}

// Method qualifiers the demangler prints after the parameter list.
std::string_view without_trailing_qualifiers(std::string_view text) {
  constexpr std::array<std::string_view, 4> kQualifiers = {" const", " volatile", " &&", " &"};
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view qualifier : kQualifiers) {
      if (text.ends_with(qualifier)) {
        text.remove_suffix(qualifier.size());
        stripped = true;
      }
    }
  }
  return text;
}

// Where the final parameter list opens. Scanning back from the last ')' keeps "operator()" and
// function types inside the parameters ("std::function<void (int)>") from confusing us.
std::size_t parameter_list_start(std::string_view demangled) {
  if (is_special(demangled)) return kNone;
  std::string_view text = without_trailing_qualifiers(demangled);
  if (!text.ends_with(')')) return kNone;  // also "f(int) [clone .cold]": a clone is not `f`
  int depth = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    if (text[i] == ')') {
      ++depth;
    } else if (text[i] == '(' && --depth == 0) {
      return i == 0 ? kNone : i;
    }
  }
  return kNone;
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The keyword, not a name such as "my_operator": what follows it ("<", " new", " int") may contain
// spaces and brackets that are not a return type or template arguments.
bool is_operator_keyword(std::string_view text, std::size_t at) {
  constexpr std::string_view kOperator = "operator";
  if (text.substr(at, kOperator.size()) != kOperator) return false;
  bool starts_word = at == 0 || text[at - 1] == ':' || text[at - 1] == ' ';
  std::size_t end = at + kOperator.size();
  return starts_word && (end == text.size() || !is_identifier_char(text[end]));
}

// Only template functions carry a return type ("int ns::twice<int>"); it ends at the last space
// outside brackets, which skips "(anonymous namespace)" and "std::map<int, int>".
std::size_t qualified_name_start(std::string_view prefix) {
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = prefix[i];
    if (depth == 0 && is_operator_keyword(prefix, i)) break;
    if (c == '(' || c == '<' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == '>' || c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ' ' && depth == 0) {
      start = i + 1;
    }
  }
  return start;
}

// "[abi:cxx11]" tags mark which libstdc++ ABI a name was built for: noise to a reader, and a user
// asking for "ns::fn" means the tagged "ns::fn[abi:cxx11]" too.
std::string without_abi_tags(std::string text) {
  for (std::size_t at; (at = text.find("[abi:")) != std::string::npos;) {
    const std::size_t close = text.find(']', at);
    if (close == std::string::npos) break;
    text.erase(at, close - at + 1);
  }
  return text;
}

}  // namespace

std::string demangle(std::string_view name) {
  if (!name.starts_with("_Z")) return {};
  const std::string mangled(name);  // __cxa_demangle wants a NUL-terminated string
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> result(
      abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &std::free);
  if (status != 0 || result == nullptr) return {};
  return without_abi_tags(result.get());
}

std::string_view without_parameters(std::string_view demangled) {
  std::size_t open = parameter_list_start(demangled);
  if (open == kNone) return demangled;
  std::string_view prefix = demangled.substr(0, open);
  return prefix.substr(qualified_name_start(prefix));
}

std::string_view without_return_type(std::string_view demangled) {
  std::size_t open = parameter_list_start(demangled);
  if (open == kNone) return demangled;
  return demangled.substr(qualified_name_start(demangled.substr(0, open)));
}

}  // namespace profilis
