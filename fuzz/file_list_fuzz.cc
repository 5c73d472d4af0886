// Fuzz target for the -R / --files-from list (src/sync/files_from.h, src/sync/selection.h).
//
// Input: the bytes of a --files-from list (NUL-separated when the input's size is odd). It is
// split into names twice, whole and in uneven blocks (the same names must come out); each name
// is cleaned as a listed name and parsed as a -R source; then the list is sorted and walked
// view by view, as the syncer walks it. Checked: cleaned paths have no empty, "." or ".."
// components and no leading '/'; the list is sorted and free of duplicates; every child a view
// names is one component, and a child's view lies inside its parent's.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_target.h"
#include "sync/files_from.h"
#include "sync/selection.h"

namespace {

using namespace ringkit::sync;

bool clean_path(std::string_view p) {
  if (p.empty()) return true;
  if (p.front() == '/' || p.back() == '/') return false;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t slash = p.find('/', pos);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view part = p.substr(pos, slash - pos);
    if (part.empty() || part == "." || part == "..") return false;
    pos = slash + 1;
  }
  return true;
}

void walk(const SelView& view, int depth) {
  if (depth > 64) return;
  for (const SelChild& c : Selection::children(view)) {
    RINGKIT_FUZZ_CHECK(!c.name.empty() && c.name.find('/') == std::string_view::npos);
    auto sub = Selection::child_view(view, c.name, depth % 2 == 0, c.base);
    if (!sub) continue;
    RINGKIT_FUZZ_CHECK(sub->first >= view.first && sub->last <= view.last && sub->first <= sub->last);
    walk(*sub, depth + 1);
  }
}

}  // namespace

RINGKIT_FUZZ_TARGET(file_list) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bool nul = size % 2 == 1;
  std::vector<std::string> whole, pieces;
  {
    FilesFromParser parser(nul);
    auto emit = [&](std::string_view n) { whole.emplace_back(n); };
    parser.feed(input, emit);
    parser.finish(emit);
  }
  {
    FilesFromParser parser(nul);
    auto emit = [&](std::string_view n) { pieces.emplace_back(n); };
    for (size_t pos = 0, step = 1; pos < input.size(); pos += step, step = step % 7 + 1) {
      parser.feed(input.substr(pos, step), emit);
    }
    parser.finish(emit);
  }
  RINGKIT_FUZZ_CHECK(whole == pieces);

  Selection sel;
  uint32_t src = sel.add_base("src");
  for (const std::string& raw : whole) {
    RINGKIT_FUZZ_CHECK(!raw.empty() && raw[0] != '#' && raw[0] != ';');
    if (auto name = clean_listed_name(raw)) {
      RINGKIT_FUZZ_CHECK(clean_path(name->path) && clean_path(name->base));
      uint32_t base = name->base.empty() ? src : sel.add_base("src/" + name->base);
      if (name->root_implied) sel.imply_root(base);
      sel.add(name->path, base, name->contents);
    }
    auto rel = parse_relative_source(raw);
    if (auto* r = std::get_if<RelativeSource>(&rel)) RINGKIT_FUZZ_CHECK(clean_path(r->path));
  }
  sel.finish();
  SelView root = sel.root_view(size % 3 == 0);
  for (const SelectedName* n = root.first; n + 1 < root.last; ++n) {
    RINGKIT_FUZZ_CHECK(path_less(n->path, (n + 1)->path));  // sorted, no duplicates
  }
  walk(root, 0);
}
