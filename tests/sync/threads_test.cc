// RINGKIT_SYNC_THREADS read as a thread count (src/sync/threads.cc); what a run does with it is
// in tests/e2e/ringsync_threads_test.cc.
#include "sync/threads.h"

#include <gtest/gtest.h>

#include "ringkit/cpus.h"

namespace ringkit::sync {
namespace {

TEST(ParseSyncThreads, OneOrMoreIsOneOrTwo) {
  EXPECT_EQ(parse_sync_threads("1"), 1u);
  EXPECT_EQ(parse_sync_threads("2"), 2u);
  EXPECT_EQ(parse_sync_threads("7"), 2u);  // one worker is all there is
  EXPECT_EQ(parse_sync_threads("99999999999999999999999"), 2u);
}

TEST(ParseSyncThreads, AnythingElseIsNoSetting) {
  for (const char* text : {"", "abc", "0", "00", "-1", "-2", "2x", " 2", "+2", "1.5", "0x2"}) {
    EXPECT_EQ(parse_sync_threads(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(SyncThreads, ASettingWinsOverTheCpus) {
  EXPECT_EQ(sync_threads(1u).count, 1u);
  EXPECT_EQ(sync_threads(2u).count, 2u);
  EXPECT_EQ(sync_threads(2u).why, "set by RINGKIT_SYNC_THREADS");
}

TEST(SyncThreads, WithoutASettingTwoWhenTwoCpusAreUsable) {
  unsigned cpus = usable_cpu_count();
  SyncThreads t = sync_threads(std::nullopt);
  EXPECT_EQ(t.count, cpus >= 2 ? 2u : 1u);
  EXPECT_NE(t.why.find(std::to_string(cpus) + " CPU"), std::string::npos) << t.why;
}

}  // namespace
}  // namespace ringkit::sync
