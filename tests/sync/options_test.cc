// ringsync's command line: rsync's syntax, checked case by case and against the real rsync
// (which command lines it accepts and which it rejects as usage errors).
#include "sync/options.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ringkit::sync {
namespace {

Options parse_ok(std::vector<std::string> args) {
  auto r = parse_command_line(args);
  if (auto* err = std::get_if<UsageError>(&r)) {
    ADD_FAILURE() << "unexpected usage error: " << err->message;
    return {};
  }
  return std::get<ParsedCommandLine>(r).options;
}

std::string parse_error(std::vector<std::string> args) {
  auto r = parse_command_line(args);
  if (auto* err = std::get_if<UsageError>(&r)) return err->message;
  ADD_FAILURE() << "expected a usage error";
  return {};
}

TEST(SyncOptions, ArchiveBundleExpandsLikeRsync) {
  Options o = parse_ok({"-aHAXv", "src/", "dst/"});
  EXPECT_TRUE(o.recursive && o.links && o.perms && o.times && o.group && o.owner);
  EXPECT_TRUE(o.devices && o.specials && o.hard_links && o.acls && o.xattrs);
  EXPECT_EQ(o.verbose, 1);
  EXPECT_EQ(o.sources, std::vector<std::string>{"src/"});
  EXPECT_EQ(o.destination, "dst/");
}

TEST(SyncOptions, NegationIsOrderDependent) {
  EXPECT_FALSE(parse_ok({"-a", "--no-perms", "s", "d"}).perms);
  EXPECT_TRUE(parse_ok({"--no-perms", "-a", "s", "d"}).perms);
  EXPECT_FALSE(parse_ok({"-a", "--no-o", "s", "d"}).owner);
  Options o = parse_ok({"-a", "--no-D", "s", "d"});
  EXPECT_FALSE(o.devices || o.specials);
}

TEST(SyncOptions, ValuesInlineOrSeparate) {
  Options o = parse_ok({"--max-size=1.5M", "--min-size", "10KB", "-T", "/tmp/x", "s", "d"});
  EXPECT_EQ(o.max_size, 1572864u);
  EXPECT_EQ(o.min_size, 10000u);
  EXPECT_EQ(o.temp_dir, "/tmp/x");
}

TEST(SyncOptions, FilterTakesRestOfBundleAndKeepsOrder) {
  Options o = parse_ok({"-rf- *.o", "--include=*.c", "--exclude", "*", "-f", "+ keep", "s", "d"});
  ASSERT_EQ(o.filters.size(), 4u);
  EXPECT_EQ(o.filters[0], (FilterArg{FilterArg::kFilter, "- *.o"}));
  EXPECT_EQ(o.filters[1], (FilterArg{FilterArg::kInclude, "*.c"}));
  EXPECT_EQ(o.filters[2], (FilterArg{FilterArg::kExclude, "*"}));
  EXPECT_EQ(o.filters[3], (FilterArg{FilterArg::kFilter, "+ keep"}));
  EXPECT_TRUE(o.recursive);
}

TEST(SyncOptions, DoubleDashEndsOptions) {
  Options o = parse_ok({"-a", "--", "-weird-name", "--dest"});
  EXPECT_EQ(o.sources, std::vector<std::string>{"-weird-name"});
  EXPECT_EQ(o.destination, "--dest");
}

TEST(SyncOptions, DeleteVariants) {
  EXPECT_EQ(parse_ok({"-r", "--delete", "s", "d"}).delete_timing, DeleteTiming::kDuring);
  EXPECT_EQ(parse_ok({"-r", "--delete-after", "s", "d"}).delete_timing, DeleteTiming::kAfter);
  EXPECT_EQ(parse_ok({"-d", "--delete-excluded", "s", "d"}).delete_timing, DeleteTiming::kDuring);
  EXPECT_EQ(parse_ok({"-r", "--del", "s", "d"}).delete_timing, DeleteTiming::kDuring);
  EXPECT_EQ(parse_ok({"--max-delete=5", "s", "d"}).max_delete, 5);
  EXPECT_NE(parse_error({"--delete", "s", "d"}).find("--recursive"), std::string::npos);
}

TEST(SyncOptions, ImpliedOptions) {
  Options p = parse_ok({"-P", "s", "d"});
  EXPECT_TRUE(p.partial && p.progress);
  EXPECT_TRUE(parse_ok({"--partial-dir=.p", "s", "d"}).partial);
  Options b = parse_ok({"--backup-dir=old", "s", "d"});
  EXPECT_TRUE(b.backup);
  EXPECT_EQ(b.suffix, "");
  EXPECT_EQ(parse_ok({"-b", "s", "d"}).suffix, "~");
  EXPECT_TRUE(parse_ok({"-A", "s", "d"}).perms);
  EXPECT_TRUE(parse_ok({"--info=progress2", "s", "d"}).progress2);
  EXPECT_EQ(parse_ok({"-ii", "s", "d"}).itemize, 2);
}

TEST(SyncOptions, WriteSideOptions) {
  Options d = parse_ok({"--delay-updates", "s", "d"});
  EXPECT_TRUE(d.partial);
  EXPECT_EQ(d.partial_dir, ".~tmp~");
  EXPECT_EQ(parse_ok({"--delay-updates", "--partial-dir=/p", "s", "d"}).partial_dir, "/p");
  EXPECT_EQ(parse_ok({"--link-dest=a", "--link-dest=b", "s", "d"}).link_dest, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_error({"--link-dest=a", "--compare-dest=b", "s", "d"}),
            "ERROR: the --compare-dest option conflicts with the --link-dest option");
  std::vector<std::string> many;
  for (int i = 0; i <= 20; ++i) many.push_back("--copy-dest=d" + std::to_string(i));
  many.insert(many.end(), {"s", "d"});
  EXPECT_EQ(parse_error(many), "ERROR: at most 20 --copy-dest args may be specified");
  EXPECT_EQ(parse_error({"--backup-dir=./", "s", "d"}), "--suffix cannot be empty when --backup-dir is the same as the dest dir");
  EXPECT_EQ(parse_error({"--inplace", "--delay-updates", "s", "d"}), "--inplace cannot be used with --delay-updates");
  // RSYNC_PARTIAL_DIR gives a bare --partial its directory (not with --inplace), as in rsync.
  ::setenv("RSYNC_PARTIAL_DIR", ".from-env", 1);
  EXPECT_EQ(parse_ok({"--partial", "s", "d"}).partial_dir, ".from-env");
  EXPECT_EQ(parse_ok({"--partial-dir=.given", "s", "d"}).partial_dir, ".given");
  EXPECT_FALSE(parse_ok({"--partial", "--inplace", "s", "d"}).partial_dir);
  EXPECT_FALSE(parse_ok({"s", "d"}).partial_dir);
  ::unsetenv("RSYNC_PARTIAL_DIR");
}

TEST(SyncOptions, FilesFromStopsArchiveFromRecursing) {
  EXPECT_FALSE(parse_ok({"-a", "--files-from=list", "s", "d"}).recursive);
  EXPECT_TRUE(parse_ok({"-ar", "--files-from=list", "s", "d"}).recursive);
  EXPECT_FALSE(parse_ok({"--files-from=list", "-a", "s", "d"}).recursive);
}

TEST(SyncOptions, FilesFromImpliesRelativeAndDirsWhereverNoRStands) {
  Options o = parse_ok({"-a", "--files-from=list", "s", "d"});
  EXPECT_TRUE(o.relative && o.dirs);
  EXPECT_FALSE(parse_ok({"--no-R", "-a", "--files-from=list", "s", "d"}).relative);
  EXPECT_FALSE(parse_ok({"-a", "--files-from=list", "--no-relative", "s", "d"}).relative);
  EXPECT_FALSE(parse_ok({"-a", "--files-from=-", "--no-d", "s", "d"}).dirs);
  EXPECT_FALSE(parse_error({"-a", "--files-from=list", "s1", "s2", "d"}).empty());
}

TEST(SyncOptions, RelativeAndImpliedDirs) {
  Options o = parse_ok({"-aR", "s", "d"});
  EXPECT_TRUE(o.relative && o.implied_dirs);
  EXPECT_FALSE(parse_ok({"-aR", "--no-implied-dirs", "s", "d"}).implied_dirs);
  o = parse_ok({"-aL", "-kK", "--copy-unsafe-links", "-m", "s", "d"});
  EXPECT_TRUE(o.copy_links && o.copy_dirlinks && o.keep_dirlinks && o.copy_unsafe_links && o.prune_empty_dirs);
  EXPECT_FALSE(o.links);  // -L leaves no symlinks to copy
}

TEST(SyncOptions, OneArgumentListsTheSource) {
  Options o = parse_ok({"-r", "src/"});
  EXPECT_TRUE(o.list_only);
  EXPECT_TRUE(o.destination.empty());
}

TEST(SyncOptions, ListOnlyWithADestinationLeavesItAlone) {
  Options o = parse_ok({"--list-only", "src/", "dst"});
  EXPECT_TRUE(o.list_only);
  EXPECT_EQ(o.sources, std::vector<std::string>{"src/"});
  EXPECT_EQ(o.destination, "dst");
}

TEST(SyncOptions, HelpAndVersion) {
  auto help = parse_command_line({"--help"});
  EXPECT_EQ(std::get<ParsedCommandLine>(help).action, Action::kHelp);
  auto h = parse_command_line({"-h"});
  EXPECT_EQ(std::get<ParsedCommandLine>(h).action, Action::kHelp);
  auto hr = parse_command_line({"-h", "s", "d"});
  EXPECT_EQ(std::get<ParsedCommandLine>(hr).options.human_readable, 1);
  auto v = parse_command_line({"--version"});
  EXPECT_EQ(std::get<ParsedCommandLine>(v).action, Action::kVersion);
  std::string text = help_text();
  for (const char* needle : {"--archive", "--delete-excluded", "--info=FLAGS", "-f, --filter=RULE",
                             "Exit codes", "--no-OPTION"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle;
  }
}

TEST(SyncOptions, UsageErrorsNameTheProblem) {
  EXPECT_EQ(parse_error({"--frobnicate", "s", "d"}), "--frobnicate: unknown option");
  EXPECT_EQ(parse_error({"-aZ", "s", "d"}), "-Z: unknown option");
  EXPECT_EQ(parse_error({"s", "d", "--exclude"}), "--exclude: missing argument");
  EXPECT_EQ(parse_error({"--max-size=lots", "s", "d"}), "--max-size value is invalid: lots");
  EXPECT_EQ(parse_error({"--archive=yes", "s", "d"}), "--archive: option does not take an argument");
  EXPECT_EQ(parse_error({"--inplace", "--partial-dir=x", "s", "d"}), "--inplace cannot be used with --partial-dir");
  EXPECT_EQ(parse_error({"-b", "--suffix=", "s", "d"}), "--suffix cannot be empty without a --backup-dir");
  EXPECT_NE(parse_error({}).find("no source"), std::string::npos);
  EXPECT_NE(parse_error({"--info=bogus3", "s", "d"}).find("Unknown --info item"), std::string::npos);
}

TEST(SyncOptions, SizeSuffixesAsRsync) {
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_EQ(parse_size("1K"), 1024u);
  EXPECT_EQ(parse_size("1KB"), 1000u);
  EXPECT_EQ(parse_size("1KiB"), 1024u);
  EXPECT_EQ(parse_size("2g"), 2ull << 30);
  EXPECT_EQ(parse_size("1M+1"), (1u << 20) + 1);
  EXPECT_EQ(parse_size("1M-1"), (1u << 20) - 1);
  EXPECT_EQ(parse_size("0.5K"), 512u);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("K"));
  EXPECT_FALSE(parse_size("1X"));
  EXPECT_FALSE(parse_size("1.2.3"));
}

// Runs the real rsync on the same command line (as a dry run between two scratch directories)
// and returns whether it rejected it as a usage error (exit code 1).
bool rsync_says_usage_error(const std::vector<std::string>& options, const std::string& dir) {
  std::vector<std::string> argv = {"rsync", "--dry-run"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(dir + "/src/");
  argv.push_back(dir + "/dst/");
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execvp("rsync", cargv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 127) << "rsync is not installed (scripts/setup.sh installs it)";
  return WEXITSTATUS(status) == 1;
}

TEST(SyncOptions, AcceptsAndRejectsTheSameCommandLinesAsRsync) {
  char tmpl[] = "/tmp/ringsync-opt-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::filesystem::create_directories(dir + "/src");
  std::filesystem::create_directories(dir + "/dst");
  const std::vector<std::vector<std::string>> cases = {
      {"-aHAXv"}, {"-a", "--delete"}, {"-a", "--no-perms"}, {"-a", "--no-p"}, {"-rlptgoD"},
      {"--max-size=1.5M"}, {"--max-size=1KB"}, {"--max-size=nonsense"}, {"--min-size", "1M+1"},
      {"-rf- *.o"}, {"--filter=+ *.c"}, {"--exclude"}, {"--frobnicate"}, {"-a", "-Z"},
      {"--inplace", "--partial-dir=x"}, {"--info=progress2"}, {"--info=bogus"}, {"-P"},
      {"--delete-before"}, {"--delete-delay"}, {"-r", "--delete-before"}, {"-d", "--delete"},
      {"-r", "--delete-excluded"}, {"--max-delete=3"}, {"--modify-window=2"},
      {"--chmod=Dg+s,Fo-w"}, {"--archive=yes"}, {"-ii"}, {"--suffix=.bak", "-b"},
      {"--backup-dir=old"}, {"--list-only"}, {"-x"}, {"-xx"}, {"-0"}, {"--no-D"},
      {"--copy-unsafe-links"}, {"--safe-links"}, {"-kK"}, {"-EOJU"}, {"--numeric-ids"},
      {"--delete-excluded"}, {"--ignore-errors", "--force"}, {"--mkpath"}, {"-W"}, {"--no-W"},
      {"--size-only", "-c", "-I", "-u"}, {"--existing"}, {"--ignore-existing"}, {"-m"},
      {"--stats", "-h"}, {"--out-format=%i %n"}, {"-S"}, {"--delay-updates"},
      {"--inplace", "--delay-updates"}, {"--delay-updates", "--partial-dir=/abs"}, {"-T", "/tmp"},
      {"--link-dest=a", "--compare-dest=b"}, {"--copy-dest=a", "--copy-dest=b"}, {"--backup-dir=."},
      {"--backup-dir=./"}, {"--backup-dir=.", "--suffix=.b"}, {"--backup-dir=x", "--suffix="},
      {"-R"}, {"-R", "--no-implied-dirs"}, {"--no-implied-dirs"}, {"-L", "-k", "-K"}, {"-Lm"},
      {"--files-from=/dev/null"}, {"-0", "--files-from=/dev/null", "--no-R"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> ours = c;
    ours.push_back(dir + "/src/");
    ours.push_back(dir + "/dst/");
    bool our_error = std::holds_alternative<UsageError>(parse_command_line(ours));
    std::string joined;
    for (const auto& a : c) joined += a + " ";
    EXPECT_EQ(our_error, rsync_says_usage_error(c, dir)) << "command line: " << joined;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringkit::sync
