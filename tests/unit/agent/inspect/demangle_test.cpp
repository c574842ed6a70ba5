#include "agent/inspect/demangle.h"

#include <gtest/gtest.h>

namespace profilis {
namespace {

TEST(Demangle, shouldDemangleItaniumNames) {
  EXPECT_EQ(demangle("_ZN7fixture6Widget4spinEi"), "fixture::Widget::spin(int)");
  EXPECT_EQ(demangle("_ZNK7fixture6Widget4spinEd"), "fixture::Widget::spin(double) const");
  EXPECT_EQ(demangle("_ZN7fixture5twiceIiEET_S1_"), "int fixture::twice<int>(int)");
}

TEST(Demangle, shouldLeaveOutAbiTags) {
  // std::string return type: the compiler tags the name [abi:cxx11].
  EXPECT_EQ(demangle("_ZN4demo10fetch_userB5cxx11Ei"), "demo::fetch_user(int)");
  EXPECT_EQ(demangle("_ZN4demo3Box4nameB5cxx11B3v2_Ev"), "demo::Box::name()");
}

TEST(Demangle, shouldReturnEmptyForPlainCNames) {
  EXPECT_EQ(demangle("main"), "");
  EXPECT_EQ(demangle("fixture_add"), "");
  // Would demangle as a type ("fixture") if handed to __cxa_demangle without the _Z check.
  EXPECT_EQ(demangle("7fixture"), "");
}

TEST(Demangle, shouldReturnEmptyForMalformedMangledNames) {
  EXPECT_EQ(demangle("_Z"), "");
  EXPECT_EQ(demangle("_Zgarbage!"), "");
}

TEST(Demangle, shouldNotNeedANulTerminatedView) {
  constexpr std::string_view kBuffer = "_ZN7fixture13free_functionEiXYZ";
  EXPECT_EQ(demangle(kBuffer.substr(0, kBuffer.size() - 3)), "fixture::free_function(int)");
}

TEST(WithoutParameters, shouldDropParametersAndQualifiers) {
  EXPECT_EQ(without_parameters("ns::Cls::fn(int) const"), "ns::Cls::fn");
  EXPECT_EQ(without_parameters("ns::Cls::fn() const &&"), "ns::Cls::fn");
  EXPECT_EQ(without_parameters("ns::f(void (*)(int), std::function<void (int)>)"), "ns::f");
}

TEST(WithoutParameters, shouldReturnInputWithoutParameterList) {
  EXPECT_EQ(without_parameters("fixture_add"), "fixture_add");
  EXPECT_EQ(without_parameters(""), "");
}

TEST(WithoutParameters, shouldDropTheReturnTypeOfTemplateFunctions) {
  EXPECT_EQ(without_parameters("int fixture::twice<int>(int)"), "fixture::twice<int>");
  EXPECT_EQ(without_parameters("unsigned long ns::f<std::map<int, int> >(int)"),
            "ns::f<std::map<int, int> >");
  EXPECT_EQ(without_parameters("decltype ({parm#1}+{parm#2}) ns::add<int, int>(int, int)"),
            "ns::add<int, int>");
}

TEST(WithoutParameters, shouldKeepSpacesThatArePartOfTheName) {
  EXPECT_EQ(without_parameters("(anonymous namespace)::helper(int)"),
            "(anonymous namespace)::helper");
  EXPECT_EQ(without_parameters("Foo::operator int() const"), "Foo::operator int");
  EXPECT_EQ(without_parameters("operator new(unsigned long, void*)"), "operator new");
  EXPECT_EQ(without_parameters("main::{lambda(int, char)#1}::operator()(int) const"),
            "main::{lambda(int, char)#1}::operator()");
  EXPECT_EQ(without_parameters("bool ns::operator< <int>(ns::Box<int> const&)"),
            "ns::operator< <int>");
  EXPECT_EQ(without_parameters("ns::Cls::operator<(ns::Cls const&) const"), "ns::Cls::operator<");
}

TEST(WithoutParameters, shouldLeaveClonesAndThunksWhole) {
  EXPECT_EQ(without_parameters("ns::f(int) [clone .constprop.0]"),
            "ns::f(int) [clone .constprop.0]");
  EXPECT_EQ(without_parameters("non-virtual thunk to ns::Cls::fn(int)"),
            "non-virtual thunk to ns::Cls::fn(int)");
}

TEST(WithoutReturnType, shouldKeepParametersButDropTheReturnType) {
  EXPECT_EQ(without_return_type("int fixture::twice<int>(int)"), "fixture::twice<int>(int)");
  EXPECT_EQ(without_return_type("fixture::Widget::spin(int)"), "fixture::Widget::spin(int)");
  EXPECT_EQ(without_return_type("fixture_add"), "fixture_add");
}

}  // namespace
}  // namespace profilis
