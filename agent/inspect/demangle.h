#pragma once

#include <string>
#include <string_view>

namespace profilis {

// The demangled form of an Itanium C++ ABI name, or an empty string when `name` is not one.
// ABI tags ("[abi:cxx11]") are left out.
std::string demangle(std::string_view name);

// "ns::Cls::fn" for "ns::Cls::fn(int) const"; the input unchanged when it has no parameter list.
// Template functions lose their return type too: "ns::twice<int>" for "int ns::twice<int>(int)".
// Compiler clones ("ns::fn(int) [clone .constprop.0]") and thunks keep their full text, so a plain
// name never matches them. The result is a view into `demangled`.
std::string_view without_parameters(std::string_view demangled);

// "ns::twice<int>(int)" for "int ns::twice<int>(int)": what a user would write for one overload.
// The result is a view into `demangled`.
std::string_view without_return_type(std::string_view demangled);

}  // namespace profilis
