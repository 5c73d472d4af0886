// RINGKIT_SYNC_THREADS read as a thread count, RINGKIT_SYNC_LOOKAHEAD as a directory size (src/sync/threads.cc); what a run does with it is
// in tests/e2e/ringsync_threads_test.cc.
#include "sync/threads.h"

#include <gtest/gtest.h>

#include <cstdint>

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

TEST(ParseLookAhead, AWholeNumberIsTheFewestEntries) {
  EXPECT_EQ(parse_look_ahead("0"), 0u);  // never
  EXPECT_EQ(parse_look_ahead("1"), 1u);
  EXPECT_EQ(parse_look_ahead("32"), 32u);
  EXPECT_EQ(parse_look_ahead("007"), 7u);
  EXPECT_EQ(parse_look_ahead("99999999999999999999999"), SIZE_MAX);
}

TEST(ParseLookAhead, AnythingElseIsNoSetting) {
  for (const char* text : {"", "abc", "-1", "2x", " 2", "+2", "1.5", "0x2", "off"}) {
    EXPECT_EQ(parse_look_ahead(text), std::nullopt) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace ringkit::sync
