// How the output options settle after parsing (rsync's stdout_format, stdout_format_has_i and
// --info levels), as rsync 3.5.0 was seen to settle them: which format -i, -v, --out-format and
// --info=name give, and which --info levels are accepted, implemented or refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sync/options.h"

namespace ringkit::sync {
namespace {

Options parsed(std::vector<std::string> args) {
  args.insert(args.end(), {"src/", "dst/"});
  auto r = parse_command_line(args);
  if (auto* err = std::get_if<UsageError>(&r)) {
    ADD_FAILURE() << "unexpected usage error: " << err->message;
    return {};
  }
  return std::get<ParsedCommandLine>(r).options;
}

std::string refused(std::vector<std::string> args) {
  args.insert(args.end(), {"src/", "dst/"});
  auto r = parse_command_line(args);
  if (auto* err = std::get_if<UsageError>(&r)) return err->message;
  ADD_FAILURE() << "expected a usage error";
  return {};
}

TEST(OutputOptions, StdoutFormatFromItemizeVerboseAndOutFormat) {
  EXPECT_FALSE(parsed({"-a"}).out_format);
  EXPECT_EQ(parsed({"-ai"}).out_format, "%i %n%L");
  EXPECT_EQ(parsed({"-ai"}).itemize, 1);
  EXPECT_EQ(parsed({"-aii"}).itemize, 2);
  EXPECT_EQ(parsed({"-av"}).out_format, "%n%L");
  EXPECT_EQ(parsed({"-av"}).itemize, 0);
  EXPECT_EQ(parsed({"-avvi"}).itemize, 2);  // -vv with %i lists unchanged items too
  // An explicit format wins; without %i it only names updated items, even with -i.
  Options o = parsed({"-ai", "--out-format=%n"});
  EXPECT_EQ(o.out_format, "%n");
  EXPECT_EQ(o.itemize, 0);
  EXPECT_EQ(parsed({"-a", "--out-format=%o %i"}).itemize, 1);
  // --info=name0 silences -v's names, not an explicit format or -i.
  EXPECT_FALSE(parsed({"-av", "--info=name0"}).out_format);
  EXPECT_EQ(parsed({"-ai", "--info=name0"}).out_format, "%i %n%L");
  EXPECT_EQ(parsed({"-a", "--info=name"}).out_format, "%n%L");
  // -q: nothing at all.
  EXPECT_FALSE(parsed({"-aiq"}).out_format);
  EXPECT_FALSE(parsed({"-aq", "--out-format=%n"}).out_format);
}

TEST(OutputOptions, ProgressAndItsImplications) {
  Options p = parsed({"-a", "--progress"});
  EXPECT_TRUE(p.progress);
  EXPECT_FALSE(p.progress2);
  EXPECT_EQ(p.out_format, "%n%L");  // --progress = --info=flist2,name,progress
  EXPECT_EQ(effective_info(p).flist, 2);
  Options big_p = parsed({"-aP"});
  EXPECT_TRUE(big_p.progress);
  EXPECT_TRUE(big_p.partial);
  Options two = parsed({"-a", "--info=progress2"});
  EXPECT_TRUE(two.progress2);
  EXPECT_FALSE(two.progress);
  EXPECT_FALSE(two.out_format);  // progress2 alone names nothing
  EXPECT_FALSE(parsed({"-a", "--progress", "--info=name0"}).out_format);
  EXPECT_FALSE(parsed({"-a", "--progress", "--no-progress"}).progress);
  EXPECT_FALSE(parsed({"-aq", "--progress"}).progress);
}

TEST(OutputOptions, InfoFlags) {
  EXPECT_EQ(effective_info(parsed({"-a"})).nonreg, 1);  // rsync says "skipping non-regular" always
  EXPECT_EQ(effective_info(parsed({"-a", "--info=nonreg0"})).nonreg, 0);
  EXPECT_EQ(effective_info(parsed({"-av"})).stats, 1);
  EXPECT_TRUE(parsed({"-a", "--stats"}).stats);
  EXPECT_TRUE(parsed({"-a", "--info=stats2"}).stats);
  EXPECT_FALSE(parsed({"-a", "--stats", "--info=stats1"}).stats);
  EXPECT_EQ(effective_info(parsed({"-av", "--info=none"})).del, 0);
  EXPECT_EQ(effective_info(parsed({"-a", "--info=DEL,flist0"})).del, 1);  // names are case-blind
  EXPECT_NE(refused({"-a", "--info=foo"}).find("Unknown --info item: \"foo\""), std::string::npos);
  EXPECT_NE(refused({"-a", "--info=name-1"}).find("Unknown --info item"), std::string::npos);
  // -vv: unchanged items named, skips said, and the debug notes of a local copy; none with -q.
  InfoLevels vv = effective_info(parsed({"-avv"}));
  EXPECT_EQ(vv.name, 2);
  EXPECT_EQ(vv.skip, 1);
  EXPECT_EQ(vv.debug, 1);
  EXPECT_EQ(vv.backup, 1);  // "backed up X to Y"
  EXPECT_EQ(effective_info(parsed({"-av"})).debug, 0);
  EXPECT_EQ(effective_info(parsed({"-av"})).backup, 0);
  EXPECT_EQ(effective_info(parsed({"-a", "--info=backup"})).backup, 1);
  EXPECT_EQ(effective_info(parsed({"-avv", "--info=backup0"})).backup, 0);
  InfoLevels quiet = effective_info(parsed({"-avvq"}));
  EXPECT_EQ(quiet.name + quiet.skip + quiet.debug + quiet.backup, 0);
  EXPECT_EQ(effective_info(parsed({"-a", "--info=name2,skip"})).name, 2);
  EXPECT_EQ(effective_info(parsed({"-a", "--info=name2,skip"})).skip, 1);
  EXPECT_EQ(effective_info(parsed({"-avv", "--info=skip0"})).skip, 0);
  for (const char* level : {"--info=skip2", "--info=backup2", "--info=mount", "--info=misc2",
                            "--info=stats3", "--info=all"}) {
    EXPECT_NE(refused({"-a", level}).find("is not supported by this version of ringsync yet"), std::string::npos)
        << level;
  }
}

TEST(OutputOptions, LogFileFormatAndHumanReadable) {
  EXPECT_EQ(parsed({"-a", "--log-file=x.log"}).log_file_format, "%i %n%L");
  EXPECT_EQ(parsed({"-a", "--log-file=x.log", "--log-file-format="}).log_file_format, "");
  EXPECT_FALSE(parsed({"-a"}).log_file_format);
  EXPECT_EQ(parsed({"-ahh"}).human_readable, 2);
  Options none = parsed({"-ah", "--no-h"});
  EXPECT_EQ(none.human_readable, 0);
  EXPECT_TRUE(none.no_human_readable);
}

}  // namespace
}  // namespace ringkit::sync
