// Fuzz target for filter-rule parsing and matching (src/sync/filter.h).
//
// Input: rule lines.  A line starting "E:" or "I:" is an --exclude/--include pattern, any other
// line a --filter rule.  Everything after a line "---" is the content every merge file,
// per-directory file and $HOME/.cvsignore reads as, so merge rules (including ones that merge
// themselves) and dir-merge inheritance get exercised without touching the disk.
// Then a small tree is walked and each decision checked for shape.
#include <string>
#include <string_view>

#include "fuzz_target.h"
#include "sync/filter.h"

RINGKIT_FUZZ_TARGET(filter_rules) {
  using namespace ringkit::sync;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view rules = input;
  std::string merged;
  bool have_merged = false;
  if (size_t sep = input.find("\n---\n"); sep != std::string_view::npos) {
    rules = input.substr(0, sep);
    merged = std::string(input.substr(sep + 5));
    have_merged = true;
  }

  FilterOptions options;
  options.delete_excluded = size % 3 == 0;
  options.home = "/home/fuzz";
  options.cvsignore_env = "*.tmp !";
  options.read_file = [&](const std::string&) -> ringkit::Result<std::string> {
    if (!have_merged) return ringkit::errno_error(2);
    return merged;
  };
  FilterList list(options);
  list.set_root("/fuzz/root");

  size_t pos = 0;
  while (pos <= rules.size()) {
    size_t nl = rules.find('\n', pos);
    if (nl == std::string_view::npos) nl = rules.size();
    std::string_view line = rules.substr(pos, nl - pos);
    pos = nl + 1;
    FilterStatus st;
    if (line.substr(0, 2) == "E:") {
      st = list.add_rule(line.substr(2), RuleSyntax::kExclude);
    } else if (line.substr(0, 2) == "I:") {
      st = list.add_rule(line.substr(2), RuleSyntax::kInclude);
    } else if (line == "-F") {
      st = list.add_F_option();
    } else if (line == "-C") {
      st = list.add_cvs_exclude();
    } else {
      st = list.add_rule(line);
    }
    if (!st) RINGKIT_FUZZ_CHECK(!st.error().message.empty());
  }

  static const char* const kPaths[] = {"a", "a.o", "dir", "dir/sub", "dir/sub/x.c",
                                       "dir/[x]", "CVS", "dir/sub/deep/f*", ".rsync-filter"};
  auto check_all = [&] {
    for (const char* p : kPaths) {
      for (bool is_dir : {false, true}) {
        Decision s = list.matches(p, is_dir, Side::kSender);
        RINGKIT_FUZZ_CHECK(s != Decision::kProtected);
        Decision r = list.matches(p, is_dir, Side::kReceiver, is_dir);
        RINGKIT_FUZZ_CHECK(r != Decision::kExcluded);
      }
    }
    (void)list.matches_xattr("user.test", Side::kSender);
  };
  (void)list.push_dir("");
  check_all();
  (void)list.push_dir("dir");
  check_all();
  (void)list.push_dir("dir/sub");
  check_all();
  list.pop_dir();
  list.pop_dir();
  check_all();
  list.pop_dir();
  RINGKIT_FUZZ_CHECK(list.depth() == 0);
}
