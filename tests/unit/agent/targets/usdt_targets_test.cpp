#include "agent/targets/usdt_targets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/common/errors.h"
#include "agent/inspect/usdt_notes.h"

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

// --- marker_probes -----------------------------------------------------------------------------

UsdtNote marker_note(const std::string& name, const std::string& arguments,
                     std::optional<std::uint64_t> site, std::uint64_t semaphore = 0x4000,
                     std::optional<std::uint64_t> semaphore_offset = 0x3000) {
  return UsdtNote{.provider = "profilis",
                  .name = name,
                  .arguments = arguments,
                  .address = site.value_or(0) + 0x1000,
                  .semaphore = semaphore,
                  .site_offset = site,
                  .semaphore_offset = semaphore_offset};
}

TEST(MarkerProbes, shouldGatherEverySiteOfAMarkerAndSeeTheHeadersRegisters) {
  const auto markers = marker_probes({
      marker_note("fn_begin", "8@%rdi", 0x100),
      marker_note("fn_end", "8@%rdi -8@%rsi", 0x200),
      marker_note("fn_begin", "8@%rdi", 0x300),
      UsdtNote{.provider = "libstdcxx",
               .name = "throw",
               .arguments = "8@%rdi 8@%rsi",
               .address = 0x1400,
               .semaphore = 0,
               .site_offset = 0x400,
               .semaphore_offset = std::nullopt},
  });
  ASSERT_EQ(markers.size(), 2u);
  EXPECT_EQ(markers[0].name, "fn_begin");
  EXPECT_EQ(markers[0].site_offsets, (std::vector<std::uint64_t>{0x100, 0x300}));
  EXPECT_EQ(markers[0].semaphore_offset, 0x3000u);
  EXPECT_TRUE(markers[0].register_arguments);
  EXPECT_EQ(markers[1].name, "fn_end");
  EXPECT_TRUE(markers[1].register_arguments);
}

// One site with its arguments elsewhere (a marker written with <sys/sdt.h>) sends the whole
// marker to the USDT-note path, which reads arguments from wherever each note says.
TEST(MarkerProbes, shouldFallBackToNotesForArgumentsOutsideTheRegisters) {
  const auto markers = marker_probes({
      marker_note("fn_end", "8@%rdi -8@%rsi", 0x100),
      marker_note("fn_end", "8@%rbp -4@%eax", 0x200),
      marker_note("req_end", "-8@%rsi", 0x300),  // req_end's status belongs in %rdi
  });
  ASSERT_EQ(markers.size(), 2u);
  EXPECT_FALSE(markers[0].register_arguments);
  EXPECT_FALSE(markers[1].register_arguments);
}

TEST(MarkerProbes, shouldFallBackToNotesWhenSitesOrSemaphoresAreNotInTheFile) {
  const auto no_site = marker_probes({marker_note("fn_begin", "8@%rdi", std::nullopt)});
  ASSERT_EQ(no_site.size(), 1u);
  EXPECT_FALSE(no_site[0].register_arguments);
  const auto no_semaphore =
      marker_probes({marker_note("fn_begin", "8@%rdi", 0x100, 0x4000, std::nullopt)});
  EXPECT_FALSE(no_semaphore[0].register_arguments);
  const auto two_semaphores =
      marker_probes({marker_note("fn_begin", "8@%rdi", 0x100),
                     marker_note("fn_begin", "8@%rdi", 0x200, 0x4008, 0x3008)});
  EXPECT_FALSE(two_semaphores[0].register_arguments);
  // Unguarded is fine: no reference counter to raise.
  const auto unguarded = marker_probes({marker_note("fn_begin", "8@%rdi", 0x100, 0, std::nullopt)});
  EXPECT_TRUE(unguarded[0].register_arguments);
  EXPECT_EQ(unguarded[0].semaphore_offset, 0u);
}

// The markers as the compilers placed them in the built fixtures: the header's own markers are all
// attached by registers at -O0 and -O2, in C and C++; markers written with <sys/sdt.h> are not.
struct BuiltFixture {
  const char* path;
  bool by_registers;
};

// The notes of a built fixture, which is always readable ELF.
std::vector<UsdtNote> notes_of(const char* path) {
  auto notes = read_usdt_notes(path);
  if (!notes) ADD_FAILURE() << notes.error().message;
  return notes ? *std::move(notes) : std::vector<UsdtNote>{};
}

class MarkerProbesOfBuiltFixtures : public ::testing::TestWithParam<BuiltFixture> {};

TEST_P(MarkerProbesOfBuiltFixtures, shouldAttachTheHeadersMarkersByRegistersOnly) {
  const auto markers = marker_probes(notes_of(GetParam().path));
  ASSERT_FALSE(markers.empty()) << GetParam().path;
  for (const MarkerProbe& marker : markers) {
    EXPECT_EQ(marker.register_arguments, GetParam().by_registers)
        << GetParam().path << ": " << marker.name;
    EXPECT_FALSE(marker.site_offsets.empty()) << marker.name;
    EXPECT_NE(marker.semaphore_offset, 0u) << marker.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MarkerProbesOfBuiltFixtures,
                         ::testing::Values(BuiltFixture{USDT_MARKERS_C_O0, true},
                                           BuiltFixture{USDT_MARKERS_C_O2, true},
                                           BuiltFixture{USDT_MARKERS_CPP_O0, true},
                                           BuiltFixture{USDT_MARKERS_CPP_O2, true},
                                           BuiltFixture{USDT_COLD_LITERALS_O0, true},
                                           BuiltFixture{USDT_COLD_LITERALS_O2, true},
                                           BuiltFixture{USDT_COLD_LITERALS_SDT, false}));

// The fixture whose fn_end sits in a callee-saved register and a 4-byte value: that marker goes by
// its note, and only that one need.
TEST(MarkerProbesOfBuiltFixtures, shouldAttachASysSdtMarkerWithArgumentsElsewhereByNote) {
  const auto markers = marker_probes(notes_of(USDT_SDT_MARKERS_FIXTURE));
  ASSERT_EQ(markers.size(), 2u);
  const auto fn_end = std::find_if(markers.begin(), markers.end(),
                                   [](const MarkerProbe& m) { return m.name == "fn_end"; });
  ASSERT_NE(fn_end, markers.end());
  EXPECT_FALSE(fn_end->register_arguments);
}

}  // namespace
}  // namespace profilis
