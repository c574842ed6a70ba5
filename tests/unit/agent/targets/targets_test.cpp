#include "agent/targets/targets.h"

#include <gtest/gtest.h>

namespace profilis {
namespace {

FunctionProbe probe(pid_t pid, const std::string& path, std::uint64_t offset,
                    const std::string& name) {
  return FunctionProbe{.pid = pid,
                       .path = path,
                       .object = path,
                       .file_offset = offset,
                       .name = name,
                       .returns = {},
                       .aggregate = false};
}

TEST(DropRepeatedSites, shouldKeepTheFirstProbeOfEachSiteInOrder) {
  std::vector<FunctionProbe> probes = {
      probe(7, "/proc/7/exe", 0x1000, "handle_request"),
      probe(7, "/proc/7/exe", 0x2000, "handle_x"),
      probe(7, "/proc/7/exe", 0x1000, "handle_request"),  // a second pattern matched it
      probe(8, "/proc/8/exe", 0x1000, "handle_request"),  // another process: its own probe
      probe(7, "/proc/7/root/lib.so", 0x1000, "f"),       // another file
      probe(-1, "/srv/app", 0x1000, "handle_request"),
      probe(-1, "/srv/app", 0x1000, "alias")};
  drop_repeated_sites(probes);
  ASSERT_EQ(probes.size(), 5u);
  EXPECT_EQ(probes[0].file_offset, 0x1000u);
  EXPECT_EQ(probes[1].name, "handle_x");
  EXPECT_EQ(probes[2].pid, 8);
  EXPECT_EQ(probes[3].path, "/proc/7/root/lib.so");
  EXPECT_EQ(probes[4].name, "handle_request");
}

}  // namespace
}  // namespace profilis
