#include "agent/usdt_targets.h"

#include <gtest/gtest.h>

#include "agent/errors.h"

namespace profilis {
namespace {

TEST(ParseUsdtSpec, shouldTakeProviderAndNameWithoutAnObject) {
  const auto spec = parse_usdt_spec("libstdcxx:throw");
  EXPECT_EQ(spec.object, "");
  EXPECT_EQ(spec.provider, "libstdcxx");
  EXPECT_EQ(spec.name, "throw");
  EXPECT_EQ(spec.end, "");
  EXPECT_EQ(spec.event_name(), "libstdcxx:throw");
}

TEST(ParseUsdtSpec, shouldTakeAnObjectThatHoldsColons) {
  const auto spec = parse_usdt_spec("/opt/a:b/libx.so:prov:probe");
  EXPECT_EQ(spec.object, "/opt/a:b/libx.so");
  EXPECT_EQ(spec.provider, "prov");
  EXPECT_EQ(spec.name, "probe");
}

TEST(ParseUsdtSpec, shouldTakeAStartEndPair) {
  const auto spec = parse_usdt_spec("postgres:postgresql:query__start,query__done");
  EXPECT_EQ(spec.object, "postgres");
  EXPECT_EQ(spec.name, "query__start");
  EXPECT_EQ(spec.end, "query__done");
  EXPECT_EQ(spec.event_name(), "postgresql:query__start,query__done");
}

TEST(ParseUsdtSpec, shouldRejectMalformedSpecsWithTheExpectedForm) {
  for (const char* bad : {"", "throw", ":throw", "p:", ":p:n", "p:n,", "p:,n", "p:a,b,c"}) {
    try {
      parse_usdt_spec(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("PROVIDER:NAME"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace profilis
