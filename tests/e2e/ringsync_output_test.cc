// ringsync's output against rsync's, on the same trees with the same options: --out-format
// lines for many formats (line for line), --log-file contents (less times and pids), and the
// structure of --progress / --info=progress2 output (names, sizes, xfr#, to-chk, the final
// 100% lines; not rates or times). Each check runs on a first copy, a no-op re-run and a
// re-sync after changes (content, mode, deletions, a few files among 300 so that rsync's
// file-list indexes jump). Escapes that differ by nature (%t, %p) are left out.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

std::vector<std::string> split(const std::string& text, const std::string& separators) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (separators.find(c) != std::string::npos) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> o;
  std::istringstream in(text);
  for (std::string w; in >> w;) o.push_back(w);
  return o;
}

// rsync reports deletions from another process than the other lines, so where they land among
// them varies from run to run (of rsync itself); each sequence alone is stable. Hard links
// (-H) likewise. So: items in order, deletions in order, "hf" lines as a set.
struct Lines {
  std::vector<std::string> items, deletions, links, notes;
};
// The summary's byte counts and rates, which rsync's own runs do not agree on (they include its
// protocol's buffering), and the time and pid in front of a log line.
std::string without_counts(std::string line) {
  static const std::regex prefix(R"(^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\d+\] )");
  static const std::regex sent(R"(^sent [\d,.KMG]+ bytes  received [\d,.KMG]+ bytes)");
  static const std::regex rate(R"(  [\d,.KMG]+ bytes/sec$)");
  static const std::regex speedup(R"(  speedup is [\d,.]+)");  // (a dry run's " (DRY RUN)" stays)
  line = std::regex_replace(line, prefix, "");
  line = std::regex_replace(line, sent, "sent N bytes  received N bytes");
  line = std::regex_replace(line, rate, "  N bytes/sec");
  return std::regex_replace(line, speedup, "  speedup is N");
}

Lines classify(const std::vector<std::string>& lines, const std::string& dest) {
  Lines l;
  for (std::string line : lines) {
    line = without_counts(line);
    if (size_t at = line.find(dest); at != std::string::npos) line.replace(at, dest.size(), "DEST");
    bool deletion = line.find("*deleting") != std::string::npos || line.starts_with("deleting ") ||
                    line.find("del.") != std::string::npos;
    if (deletion) l.deletions.push_back(line);
    else if (line.starts_with("skipping ")) l.notes.push_back(line);  // told while listing: racy in rsync
    else if (line.starts_with("hf") || line.starts_with("hL") || line.starts_with("hS")) l.links.push_back(line);
    else l.items.push_back(line);
  }
  std::sort(l.links.begin(), l.links.end());
  return l;
}

class OutputVsRsync : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-output");
    src_ = base_ + "/src";
    build_hostile_tree(src_);
    std::filesystem::create_directories(src_ + "/many");
    for (int i = 1; i <= 300; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "/f%03d", i);
      write_file(src_ + "/many" + name, std::to_string(i) + "\n");
    }
    pin_recent_times(src_, 1700000000, 1000000000);
    write_file(base_ + "/list", "sub/file\nmany/f001\nsmall\n");  // (for --files-from=LIST)
  }
  void TearDown() override { remove_tree(base_); }

  // Content, size and mode changes, deletions, and changes far apart in a big directory.
  void change_source() {
    write_file(src_ + "/small", "changed contents\n");
    ::chmod((src_ + "/sub/file").c_str(), 0600);
    std::filesystem::remove(src_ + "/space name");
    std::filesystem::remove_all(src_ + "/sub/deeper");
    write_file(src_ + "/many/f002", "two, longer\n");
    write_file(src_ + "/many/f251", "251, longer\n");
    write_file(src_ + "/many/f300", "300, longer\n");
    pin_recent_times(src_, 1700000000, 1100000000);
  }

  // `options` may end with "|" and the sources, SRC standing for the source tree's path and
  // LIST for a --files-from list beside it (default: "SRC/").
  std::pair<RunResult, RunResult> run_both(const std::vector<std::string>& options) {
    std::vector<std::string> args, sources = {src_ + "/"};
    bool in_sources = false;
    for (std::string o : options) {
      if (o == "|") {
        in_sources = true;
        sources.clear();
        continue;
      }
      if (size_t at = o.find("SRC"); at != std::string::npos) o.replace(at, 3, src_);
      if (size_t at = o.find("LIST"); at != std::string::npos) o.replace(at, 4, base_ + "/list");
      (in_sources ? sources : args).push_back(o);
    }
    args.insert(args.end(), sources.begin(), sources.end());
    std::vector<std::string> r = {"rsync"}, g = {kRingsync};
    r.insert(r.end(), args.begin(), args.end());
    g.insert(g.end(), args.begin(), args.end());
    r.push_back(base_ + "/r/");
    g.push_back(base_ + "/g/");
    return {run_program(r), run_program(g)};
  }

  // The three rounds, each compared by `check(rsync, ringsync)`.
  template <class Check>
  void three_rounds(const std::vector<std::string>& options, Check check) {
    const char* rounds[] = {"first copy", "no-op re-run", "re-sync after changes"};
    for (int i = 0; i < 3; ++i) {
      SCOPED_TRACE(rounds[i]);
      if (i == 2) change_source();
      auto [r, g] = run_both(options);
      ASSERT_EQ(g.exit_code, r.exit_code) << "rsync: " << r.err << "\nringsync: " << g.err;
      check(r, g);
    }
  }

  std::string base_, src_;
};

// ---- --out-format ----

class OutFormatVsRsync : public OutputVsRsync, public ::testing::WithParamInterface<const char*> {};

TEST_P(OutFormatVsRsync, SameLinesAsRsync) {
  std::vector<std::string> options = words(GetParam());
  for (auto& o : options) std::replace(o.begin(), o.end(), '_', ' ');  // "%n_%l" is "%n %l"
  three_rounds(options, [&](const RunResult& r, const RunResult& g) {
    Lines rl = classify(split(r.out, "\n"), base_ + "/r"), gl = classify(split(g.out, "\n"), base_ + "/g");
    EXPECT_EQ(gl.items, rl.items) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
    EXPECT_EQ(gl.deletions, rl.deletions);
    EXPECT_EQ(gl.links, rl.links);
    EXPECT_EQ(gl.notes, rl.notes);
  });
}

INSTANTIATE_TEST_SUITE_P(
    Formats, OutFormatVsRsync,
    ::testing::Values("-a --delete --out-format=%n%L", "-a --delete --out-format=%i_%n%L",
                      "-a --delete --out-format=%o_%n_%l_%b_%c",
                      "-a --delete --out-format=%i|%n|%L|%l|%b|%c|%f|%M|%o|%U|%G|%B|%C|%%|%m|%a|%h|%P|%u",
                      "-a --out-format=%'-10l|%''10b|%'''l|%-20n|%5L|%-14i|%'l",
                      "-a --out-format=[%-5o][%08l][%x][%]", "-a --delete --out-format=%b_%n",
                      "-a -i --out-format=%n", "-a -ii --out-format=%i_%n%L", "-r --delete --out-format=%B_%U_%G_%n",
                      "-ac --out-format=%i_%n_%b", "-an --delete --out-format=%i_%n_%b_%C", "-av", "-ai", "-anv --delete",
                      "-aH --out-format=%i_%n%L", "-a --delete-after --out-format=%i_%n_%b"),
    [](const auto& param_info) { return std::to_string(param_info.index); });

// ---- --log-file ----

std::vector<std::string> read_log(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return split(text.str(), "\n");
}

class LogFileVsRsync : public OutputVsRsync, public ::testing::WithParamInterface<const char*> {};

TEST_P(LogFileVsRsync, SameLogAsRsync) {
  std::vector<std::string> options = words(GetParam());
  for (auto& o : options) std::replace(o.begin(), o.end(), '_', ' ');
  std::string rlog = base_ + "/r.log", glog = base_ + "/g.log";
  // A first copy without a log, then the logged runs: a re-sync after changes, and a no-op.
  std::vector<std::string> first = options;
  std::erase(first, "-n");
  std::erase(first, "-an");
  if (first.size() != options.size() || GetParam() == std::string("-an --delete")) first = {"-a"};
  auto [r0, g0] = run_both(first);
  ASSERT_EQ(g0.exit_code, r0.exit_code) << r0.err << g0.err;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "re-sync after changes" : "no-op");
    if (round == 0) {
      write_file(src_ + "/small", "changed again\n");
      write_file(src_ + "/many/f100", "100 again\n");
      std::filesystem::remove(src_ + "/-leading-dash");
      pin_recent_times(src_, 1700000000, 1200000000);
    }
    std::vector<std::string> r = options, g = options;
    r.push_back("--log-file=" + rlog);
    g.push_back("--log-file=" + glog);
    std::vector<std::string> ra = {"rsync"}, ga = {kRingsync};
    ra.insert(ra.end(), r.begin(), r.end());
    ga.insert(ga.end(), g.begin(), g.end());
    ra.insert(ra.end(), {src_ + "/", base_ + "/r/"});
    ga.insert(ga.end(), {src_ + "/", base_ + "/g/"});
    RunResult rr = run_program(ra), gr = run_program(ga);
    ASSERT_EQ(gr.exit_code, rr.exit_code) << rr.err << gr.err;
  }
  std::vector<std::string> rl = read_log(rlog), gl = read_log(glog);
  ASSERT_FALSE(rl.empty());
  ASSERT_FALSE(gl.empty());
  Lines rc = classify(rl, base_ + "/r"), gc = classify(gl, base_ + "/g");
  std::string both = "rsync's log:\n" + indent_lines(rl) + "ringsync's log:\n" + indent_lines(gl);
  EXPECT_EQ(gc.items, rc.items) << both;
  EXPECT_EQ(gc.deletions, rc.deletions) << both;
}

INSTANTIATE_TEST_SUITE_P(Logs, LogFileVsRsync,
                         ::testing::Values("-a --delete", "-ai --delete", "-a --delete --log-file-format=%o_%n_%l_%b",
                                           "-a --delete --log-file-format=%n", "-a --log-file-format=",
                                           "-av --delete", "-a -ii", "-an --delete",
                                           "-a --delete --log-file-format=%i_%n%L_%C_%M"),
                         [](const auto& param_info) { return std::to_string(param_info.index); });

// ---- --progress and --info=progress2 ----

// What the progress output says, without rates and times: names, and for each final line
// "SIZE PCT (xfr#N, to-chk=M/T)".
struct ProgressShape {
  std::vector<std::string> events;     // names, notes and final lines, in order
  std::vector<std::string> deletions;  // apart: rsync's land anywhere among the rest
  std::string last;                    // the last progress line (progress2: the total)
};
ProgressShape shape(const std::string& out, const std::string& dest, bool whole_transfer) {
  static const std::regex line(R"(^ *([\d,.KMG]+) +(\d+)% +[\d.]+[kMG]B/s +[\d?:]+( \(xfr#(\d+), (to|ir)-chk=(\d+/\d+)\))? *$)");
  ProgressShape s;
  std::string last_xfr;
  for (std::string piece : split(out, "\r\n")) {
    if (piece.empty()) continue;
    piece = without_counts(piece);
    if (size_t at = piece.find(dest); at != std::string::npos) piece.replace(at, dest.size(), "DEST");
    std::smatch m;
    if (!std::regex_match(piece, m, line)) {
      (piece.starts_with("deleting ") ? s.deletions : s.events).push_back(piece);  // a name or a note
      continue;
    }
    if (!m[3].matched) continue;  // an update while a file is copied: timing
    std::string event = m[1].str() + " " + m[2].str() + "% xfr#" + m[4].str() + " " + m[5].str() + "-chk=" + m[6].str();
    s.last = event;
    // progress2 shows its line again when rsync's sender finishes a file list, at moments
    // that vary from run to run; the line after each file is what counts.
    if (whole_transfer && m[4].str() == last_xfr) continue;
    last_xfr = m[4].str();
    s.events.push_back(event);
  }
  return s;
}

class ProgressVsRsync : public OutputVsRsync, public ::testing::WithParamInterface<const char*> {};

TEST_P(ProgressVsRsync, SameShapeAsRsync) {
  std::vector<std::string> options = words(GetParam());
  for (auto& o : options) std::replace(o.begin(), o.end(), '_', ' ');
  bool whole = std::string(GetParam()).find("progress2") != std::string::npos;
  three_rounds(options, [&](const RunResult& r, const RunResult& g) {
    ProgressShape rs = shape(r.out, base_ + "/r", whole), gs = shape(g.out, base_ + "/g", whole);
    // A dry run sends no file, so progress2 only shows its line as file lists end, at moments
    // that vary: only where it ends up counts then.
    bool dry_whole = whole && std::string(GetParam()).starts_with("-an ");
    if (!dry_whole) {
      EXPECT_EQ(gs.events, rs.events) << "rsync said:\n" << r.out << "\nringsync said:\n" << g.out;
    }
    EXPECT_EQ(gs.deletions, rs.deletions);
    EXPECT_EQ(gs.last, rs.last);
  });
}

INSTANTIATE_TEST_SUITE_P(Progress, ProgressVsRsync,
                         ::testing::Values("-a --progress", "-aP --delete", "-ai --progress", "-a --progress -h",
                                           "-a --progress --out-format=%b_%n", "-a --info=progress2",
                                           "-av --info=progress2", "-a --info=progress2,name0 --delete",
                                           "-a --progress --delete-after", "-a --progress --info=name0",
                                           "-an --progress", "-an --info=progress2 --delete",
                                           // Lists and several sources (to-chk counts no root
                                           // that is not an item):
                                           "-a --progress -R | SRC/./sub SRC/./many",
                                           "-a --progress | SRC/many SRC/small SRC/sub",
                                           "-a --progress --files-from=LIST | SRC",
                                           "-a --progress -r --files-from=LIST | SRC",
                                           "-a --progress --delete-after -R | SRC/./sub SRC/./many"),
                         [](const auto& param_info) { return std::to_string(param_info.index); });

// Progress lines are there when stdout is not a terminal (these runs write to a pipe), each
// file's final line right after its name, and a progress run copies what a plain one does.
TEST_F(OutputVsRsync, ProgressRunCopiesTheSameTree) {
  auto [r, g] = run_both({"-a", "--progress"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("100%"), std::string::npos);
  EXPECT_NE(g.out.find("(xfr#1, to-chk="), std::string::npos);
  SnapshotOptions cmp;
  for (const auto& d : compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), cmp)) ADD_FAILURE() << d;
}

}  // namespace
}  // namespace ringkit::testing

namespace ringkit::testing {
namespace {

// A log that cannot be opened is reported and the run goes on without it, as with rsync.
TEST_F(OutputVsRsync, UnopenableLogIsReportedAndTheRunGoesOn) {
  RunResult g = run_program({kRingsync, "-a", "--log-file=" + base_ + "/no/such/dir/x.log", src_ + "/", base_ + "/g/"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.err.find("failed to open log-file " + base_ + "/no/such/dir/x.log"), std::string::npos) << g.err;
  EXPECT_TRUE(std::filesystem::exists(base_ + "/g/small"));
}

// The log is appended to, never truncated: two runs, two "building file list" lines.
TEST_F(OutputVsRsync, LogIsAppended) {
  std::string log = base_ + "/g.log";
  for (int i = 0; i < 2; ++i) {
    RunResult g = run_program({kRingsync, "-a", "--log-file=" + log, src_ + "/", base_ + "/g/"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  int starts = 0;
  for (const std::string& line : read_log(log)) starts += line.ends_with("] building file list");
  EXPECT_EQ(starts, 2);
}

}  // namespace
}  // namespace ringkit::testing
