// Differential tests: FilterList against the real rsync.
//
// Each case builds a tree with awkward names (spaces, brackets, stars, dots, leading dashes, a
// newline), runs `rsync -r <filter options> src/ dst/` for real, and compares the tree rsync
// left in dst/ with the one FilterList predicts: a sender walk of src/ that prunes excluded
// directories as rsync does, plus, for --delete cases, a receiver walk of the old dst/ that
// keeps what receiver-side rules protect.  Comparing the resulting trees (rather than parsing
// --out-format) keeps names with newlines exact.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sync/filter.h"

namespace ringkit::sync {
namespace {

namespace fs = std::filesystem;

struct DiffCase {
  const char* name;
  std::vector<std::string> args;              // "@" is replaced by the case directory
  std::map<std::string, std::string> files;   // extra files, relative to the case directory
  std::string cvsignore_env;                  // CVSIGNORE for -C cases ("" = unset)
};

// The tree every case starts from (paths under src/; a trailing '/' makes a directory).
const char* const kBaseTree[] = {
    "a.txt", "b.o", "c.c", "foo", "with space.txt", "br[ack]et", "brket", "star*name",
    ".hidden", "-dash", "new\nline", "x~", "core", "file.bak", "UPPER.TXT", "9digit",
    "dir1/", "dir1/a.txt", "dir1/b.o", "dir1/keep.c", "dir1/sub/", "dir1/sub/deep.txt",
    "dir1/sub/deep.o", "dir1/sub/sub2/", "dir1/sub/sub2/deeper.txt", "dir1/sub/sub2/foo",
    "dir2/", "dir2/a.txt", "dir2/sp ace dir/", "dir2/sp ace dir/file", "dir2/foo/",
    "dir2/foo/inner.c", "dir2/bar", "build/", "build/out.o", "build/x.txt", "dir1/build/",
    "dir1/build/y.txt", "CVS/", "CVS/Entries", ".git/", ".git/config", "tricky[1]/",
    "tricky[1]/a", "deep/", "deep/a/", "deep/a/b/", "deep/a/b/c/", "deep/a/b/c/file.txt",
    "deep/a/b/c/e.o", "deep/file.txt", "*star dir/", "*star dir/f", "-lead dir/",
    "-lead dir/g.c",
};

std::vector<DiffCase> cases() {
  return {
      {"exclude_suffix", {"--exclude=*.o"}, {}, ""},
      {"include_before_exclude", {"--include=b.o", "--exclude=*.o"}, {}, ""},
      {"anchored_file", {"--exclude=/foo"}, {}, ""},
      {"dir_only_trailing_slash", {"--exclude=foo/"}, {}, ""},
      {"basename_any_type", {"--exclude=foo"}, {}, ""},
      {"relative_with_slash", {"--exclude=dir1/sub"}, {}, ""},
      {"anchored_dir_only", {"--exclude=/dir1/sub/"}, {}, ""},
      {"starstar_prefix", {"--exclude=**/sub2"}, {}, ""},
      {"starstar_infix", {"--exclude=dir1/**/deeper.txt"}, {}, ""},
      {"anchored_starstar", {"--exclude=/deep/**/file.txt"}, {}, ""},
      {"only_c_files", {"-f", "+ */", "-f", "+ *.c", "-f", "- *"}, {}, ""},
      {"triple_star_keep", {"-f", "+ dir1/***", "-f", "- *"}, {}, ""},
      {"triple_star_drop", {"-f", "- dir2/***"}, {}, ""},
      {"char_class_digit", {"--exclude=*[[:digit:]]*"}, {}, ""},
      {"negated_range", {"--exclude=[!a-d]*"}, {}, ""},
      {"escaped_brackets", {"--exclude=br\\[ack\\]et"}, {}, ""},
      {"class_not_literal", {"--exclude=br[ack]et"}, {}, ""},
      {"escaped_star", {"--exclude=star\\*name", "--exclude=\\*star dir"}, {}, ""},
      {"literal_backslash", {"--exclude=tricky[1]"}, {}, ""},
      {"dotfiles", {"--exclude=.*"}, {}, ""},
      {"leading_dash", {"--exclude=-dash", "--exclude=-lead dir/"}, {}, ""},
      {"newline_name", {"--exclude=new?line"}, {}, ""},
      {"space_name", {"--exclude=with space.txt", "--exclude=sp ace dir"}, {}, ""},
      {"negate_non_dirs", {"-f", "-! */"}, {}, ""},
      {"only_txt", {"-f", "+ */", "-f", "-! *.txt"}, {}, ""},
      {"hide_show", {"-f", "show b.o", "-f", "hide *.o"}, {}, ""},
      {"protect_only_is_receiver", {"-f", "P *.o"}, {}, ""},
      {"sender_modifier", {"-f", "-s *.o", "-f", "+r *.c", "-f", "-r *.c"}, {}, ""},
      {"long_names", {"-f", "exclude,s /dir1/", "-f", "include_*.txt", "-f", "exclude *"}, {}, ""},
      {"exclude_from",
       {"--exclude-from=@/rules/ex"},
       {{"rules/ex", "# comment\n; another\n\n*.o\n+ keep.c\n- *.c\n/dir2/\nx~\r\n"}},
       ""},
      {"include_from",
       {"--include-from=@/rules/in", "--exclude=*"},
       {{"rules/in", "*/\n*.txt\n- dir2\n"}},
       ""},
      {"merge_file",
       {"-f", "merge @/rules/m"},
       {{"rules/m", "- *.bak\n+ /dir1/keep.c\n- *.c\n. @/rules/m2\n"}, {"rules/m2", "- UPPER.*\n"}},
       ""},
      {"merge_no_prefix", {"-f", ".- @/rules/np"}, {{"rules/np", "*.txt\nbuild/\n"}}, ""},
      {"F_levels",
       {"-F"},
       {{"src/.rsync-filter", "- *.o\n- /foo\n"},
        {"src/dir1/.rsync-filter", "+ b.o\n- /keep.c\n"},
        {"src/dir1/sub/.rsync-filter", "- deeper.txt\n"}},
       ""},
      {"FF_hides_filter_files",
       {"-F", "-F"},
       {{"src/.rsync-filter", "- *.o\n"}, {"src/dir1/.rsync-filter", "+ b.o\n"}},
       ""},
      {"F_clear_inherited",
       {"-F"},
       {{"src/.rsync-filter", "- *.txt\n"}, {"src/dir1/.rsync-filter", "!\n- *.c\n"}},
       ""},
      {"F_nested_n_and_e",
       {"-F"},
       {{"src/.rsync-filter", "dir-merge,n .local\n:e .sec\n"},
        {"src/dir1/.local", "- *.txt\n"},
        {"src/dir2/.sec", "- bar\n"},
        {"src/dir1/sub/.sec", "- deep.o\n"}},
       ""},
      {"dir_merge_n_modifier",
       {"-f", ":n- .excl"},
       {{"src/.excl", "*.txt\n"}, {"src/dir1/.excl", "*.c\n"}},
       ""},
      {"dir_merge_e_modifier",
       {"-f", ":e .rules"},
       {{"src/.rules", "- *.o\n"}, {"src/dir1/sub/.rules", "+ deep.o\n"}},
       ""},
      {"cvs_exclude",
       {"-C"},
       {{"home/.cvsignore", "UPPER.TXT\n"}, {"src/dir1/.cvsignore", "keep.c deep*\n"}},
       "9digit *.bak"},
      {"cvs_clear_token",
       {"-C"},
       {{"src/dir1/.cvsignore", "! *.txt\n"}, {"src/dir2/.cvsignore", "bar ! inner.c\n"}},
       ""},
      {"cvs_rule_only", {"-f", "-C"}, {{"src/dir1/.cvsignore", "keep.c\n"}}, ""},
      {"absolute_modifier", {"-f", "-/ @/src/dir1/a.txt"}, {}, ""},
      {"delete_protects_excluded",
       {"--delete", "--exclude=*.o"},
       {{"dst/extra.o", "x"}, {"dst/extra.txt", "x"}, {"dst/dir1/old.o", "x"},
        {"dst/gone/z.txt", "x"}},
       ""},
      {"delete_excluded",
       {"--delete", "--delete-excluded", "--exclude=*.o"},
       {{"dst/extra.o", "x"}, {"dst/extra.txt", "x"}, {"dst/b.o", "x"}},
       ""},
      {"delete_protect_risk",
       {"--delete", "-f", "R extra.o", "-f", "- *.o", "-f", "P keepme"},
       {{"dst/extra.o", "x"}, {"dst/other.o", "x"}, {"dst/keepme", "x"}, {"dst/drop", "x"}},
       ""},
      {"delete_excluded_with_protect",
       {"--delete", "--delete-excluded", "-f", "P keepme", "--exclude=*.txt"},
       {{"dst/keepme", "x"}, {"dst/a.txt", "x"}, {"dst/drop", "x"}},
       ""},
      {"delete_cvs_perishable",
       {"--delete", "-C"},
       {{"dst/dir1/y.o", "x"}, {"dst/gone/x.o", "x"}, {"dst/gone2/keep.home", "x"},
        {"home/.cvsignore", "*.home\n"}},
       ""},
  };
}

std::string expand(std::string s, const std::string& dir) {
  for (size_t pos; (pos = s.find('@')) != std::string::npos;) s.replace(pos, 1, dir);
  return s;
}

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// Runs argv with the given environment; returns the exit status, stderr into *err.
int run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
        const fs::path& err_file, std::string* err) {
  pid_t pid = fork();
  if (pid == 0) {
    // rsync prints some complaints on stdout: keep both out of the test log.
    if (!std::freopen(err_file.c_str(), "w", stderr) || dup2(2, 1) < 0) _exit(126);
    std::vector<char*> a, e;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    e.push_back(nullptr);
    execve(argv[0].c_str(), a.data(), e.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(err_file);
  err->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Every path below root, directories with a trailing '/'.
std::set<std::string> list_tree(const fs::path& root) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    out.insert(it->is_directory() ? rel + "/" : rel);
  }
  return out;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::vector<fs::directory_entry> sorted_entries(const fs::path& dir) {
  std::vector<fs::directory_entry> v{fs::directory_iterator(dir), fs::directory_iterator()};
  std::sort(v.begin(), v.end());
  return v;
}

// The sender's walk: rsync lists what is not excluded and never enters an excluded directory.
void sender_walk(FilterList& list, const fs::path& root, const std::string& rel,
                 std::set<std::string>* out, std::string* problems) {
  FilterStatus st = list.push_dir(rel);
  if (!st) *problems += "push_dir(" + rel + "): " + st.error().message + "\n";
  for (const auto& e : sorted_entries(rel.empty() ? root : root / rel)) {
    std::string child = join(rel, e.path().filename().string());
    bool is_dir = e.is_directory();
    if (list.matches(child, is_dir, Side::kSender) == Decision::kExcluded) continue;
    out->insert(is_dir ? child + "/" : child);
    if (is_dir) sender_walk(list, root, child, out, problems);
  }
  list.pop_dir();
}

void keep_subtree(const fs::path& root, const std::string& rel, bool is_dir,
                  std::set<std::string>* out) {
  out->insert(is_dir ? rel + "/" : rel);
  if (!is_dir) return;
  for (const auto& e : sorted_entries(root / rel)) {
    keep_subtree(root, join(rel, e.path().filename().string()), e.is_directory(), out);
  }
}

// Deleting a directory: its entries go unless a non-perishable receiver rule protects them;
// the directory itself stays when something inside it stays.  Returns true if anything stays.
bool delete_contents(const FilterList& list, const fs::path& dst, const std::string& rel,
                     std::set<std::string>* out) {
  bool kept = false;
  for (const auto& e : sorted_entries(dst / rel)) {
    std::string child = join(rel, e.path().filename().string());
    bool is_dir = e.is_directory();
    if (list.matches(child, is_dir, Side::kReceiver, true) == Decision::kProtected) {
      keep_subtree(dst, child, is_dir, out);
      kept = true;
    } else if (is_dir && delete_contents(list, dst, child, out)) {
      out->insert(child + "/");
      kept = true;
    }
  }
  return kept;
}

// The receiver's --delete pass over the old destination, in the directories the sender sent.
void receiver_walk(FilterList& list, const fs::path& dst, const std::string& rel,
                   const std::set<std::string>& sent, std::set<std::string>* out) {
  (void)list.push_dir(rel);
  for (const auto& e : sorted_entries(rel.empty() ? dst : dst / rel)) {
    std::string child = join(rel, e.path().filename().string());
    bool is_dir = e.is_directory();
    if (sent.count(is_dir ? child + "/" : child)) {
      if (is_dir) receiver_walk(list, dst, child, sent, out);
      continue;
    }
    if (list.matches(child, is_dir, Side::kReceiver) == Decision::kProtected) {
      keep_subtree(dst, child, is_dir, out);
    } else if (is_dir && delete_contents(list, dst, child, out)) {
      out->insert(child + "/");
    }
  }
  list.pop_dir();
}

std::string show(const std::set<std::string>& s) {
  std::string out;
  for (const auto& p : s) out += "  " + p + "\n";
  return out;
}

class FilterRsyncDiffTest : public ::testing::TestWithParam<size_t> {};

TEST_P(FilterRsyncDiffTest, SameFilesAsRsync) {
  const char* rsync = "/usr/bin/rsync";
  if (access(rsync, X_OK) != 0) GTEST_SKIP() << "rsync is not installed at /usr/bin/rsync";
  const DiffCase c = cases()[GetParam()];
  SCOPED_TRACE(c.name);

  char tmpl[] = "/tmp/ringkit-filter-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const fs::path src = dir / "src", dst = dir / "dst", home = dir / "home";
  fs::create_directories(src);
  fs::create_directories(dst);
  fs::create_directories(home);
  for (const char* p : kBaseTree) {
    std::string rel = p;
    if (rel.back() == '/') {
      fs::create_directories(src / rel);
    } else {
      write_file(src / rel, "data");
    }
  }
  for (const auto& [rel, content] : c.files) write_file(dir / rel, expand(content, dir.string()));

  // Prediction, computed before rsync touches dst/.
  FilterOptions options;
  options.home = home.string();
  options.cvsignore_env = c.cvsignore_env;
  bool do_delete = false;
  for (const auto& a : c.args) {
    if (a == "--delete-excluded") options.delete_excluded = true;
    if (a == "--delete" || a == "--delete-excluded") do_delete = true;
  }
  FilterList list(options);
  bool cvs = false;
  std::string problems;
  for (size_t i = 0; i < c.args.size(); ++i) {
    const std::string a = expand(c.args[i], dir.string());
    FilterStatus st;
    if (a == "-f") {
      st = list.add_rule(expand(c.args[++i], dir.string()));
    } else if (a.rfind("--exclude=", 0) == 0) {
      st = list.add_rule(a.substr(10), RuleSyntax::kExclude);
    } else if (a.rfind("--include=", 0) == 0) {
      st = list.add_rule(a.substr(10), RuleSyntax::kInclude);
    } else if (a.rfind("--exclude-from=", 0) == 0) {
      st = list.add_rules_from_file(a.substr(15), RuleSyntax::kExclude);
    } else if (a.rfind("--include-from=", 0) == 0) {
      st = list.add_rules_from_file(a.substr(15), RuleSyntax::kInclude);
    } else if (a == "-F") {
      st = list.add_F_option();
    } else if (a == "-C") {
      cvs = true;
    }
    ASSERT_TRUE(st.ok()) << a << ": " << st.error().message;
  }
  if (cvs) {
    ASSERT_TRUE(list.add_cvs_exclude().ok());
  }

  FilterList receiver = list;  // each walker gets its own copy
  list.set_root(src.string());
  receiver.set_root(dst.string());
  std::set<std::string> expected;
  sender_walk(list, src, "", &expected, &problems);
  EXPECT_EQ(problems, "");
  if (do_delete) receiver_walk(receiver, dst, "", expected, &expected);

  std::vector<std::string> argv = {rsync, "-r"};
  for (const auto& a : c.args) argv.push_back(expand(a, dir.string()));
  argv.push_back(src.string() + "/");
  argv.push_back(dst.string() + "/");
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + home.string(), "LC_ALL=C"};
  if (!c.cvsignore_env.empty()) env.push_back("CVSIGNORE=" + c.cvsignore_env);
  std::string err;
  int rc = run(argv, env, dir / "rsync.err", &err);
  // 23: rsync could not remove a directory that still holds protected files (expected).
  EXPECT_TRUE(rc == 0 || (do_delete && rc == 23)) << "rsync exit " << rc << ": " << err;

  std::set<std::string> actual = list_tree(dst);
  std::set<std::string> missing, extra;
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::inserter(missing, missing.end()));
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::inserter(extra, extra.end()));
  EXPECT_TRUE(missing.empty() && extra.empty())
      << "rsync has but FilterList does not predict:\n" << show(missing)
      << "FilterList predicts but rsync does not have:\n" << show(extra) << "rsync stderr: " << err;
  if (!HasFailure()) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Rsync, FilterRsyncDiffTest, ::testing::Range<size_t>(0, cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& param) {
                           return std::string(cases()[param.param].name);
                         });

}  // namespace
}  // namespace ringkit::sync
