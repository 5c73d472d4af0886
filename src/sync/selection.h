// Selection: the items a -R (--relative) or --files-from run names, kept as a sorted list of
// names only, and the view the walk takes of it one directory at a time.
//
// rsync sends, for each name "a/b/c", the item itself and (unless --no-implied-dirs) its
// "implied directories" a and a/b, then walks the whole union depth first: a directory's line,
// its non-directories, then its subdirectories. The walk here does the same without building
// a tree: the names are sorted component by component ('/' before every other byte), so all
// the names below a directory "a/b" are one contiguous run of the list, found by binary
// search. Memory is the list of names (one short string each), never the trees below them.
//
// A plain value; built before the walk (REQUIRES: finish() before any view is taken) and then
// only read. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ringkit::sync {

// One named item.
struct SelectedName {
  std::string path;       // kept path below the transfer root, cleaned ("a/b/c"; "" = the root)
  uint32_t base = 0;      // index into Selection::bases(): the directory `path` is relative to
  bool contents = false;  // named as "dir/": its entries are sent too, even without -r
  bool repeated = false;  // named more than once (finish() keeps one): rsync counts each
  bool repeated_in_base = false;  // of those, more than once from its own base
  uint32_t order = 0;     // its place in the arguments or the list: where two overlap, rsync
                          // keeps the earlier one's item
};

// Compares paths component by component: "a" < "a/x" < "a.b" (plain byte order would put
// "a.b" between "a" and "a/x"). This is the order in which the names below one directory are
// contiguous.
bool path_less(std::string_view a, std::string_view b);

// The part of the selection below one directory of the walk.
struct SelView {
  const SelectedName* first = nullptr;  // the names strictly below the directory
  const SelectedName* last = nullptr;
  size_t prefix = 0;   // bytes of "dir/" that each of those names starts with (0 at the root)
  bool full = false;   // the directory's own entries are sent (named with -r, or as "dir/")
  uint32_t base = 0;   // where the directory itself is read from

  bool empty() const { return first == last; }
};

// One child of a directory as the selection names it.
struct SelChild {
  std::string_view name;    // one path component
  bool named = false;       // the child itself is in the list (else it is an implied directory)
  bool contents = false;    // named as "child/"
  uint32_t base = 0;        // named: its base; implied: the base of the first name below it
  bool has_below = false;   // names below it
  bool repeated = false;    // named: more than once (SelectedName::repeated)
  uint32_t order = 0;       // named: SelectedName::order
  // Of the names below it: the earliest in the list (its order and base), which implies it.
  uint32_t below_order = UINT32_MAX;
  uint32_t below_base = 0;
};

class Selection {
 public:
  // Adds one base directory; returns its index.
  uint32_t add_base(std::string dir);
  // How many times add_base() was given base `b` (rsync changes into it once per argument).
  uint32_t uses_of_base(uint32_t b) const { return base_uses_[b]; }
  std::optional<uint32_t> find_base(const std::string& dir) const {
    auto it = base_index_.find(dir);
    if (it == base_index_.end()) return std::nullopt;
    return it->second;
  }
  // Adds one name. `path` must be cleaned (see clean_listed_name / parse_relative_source).
  void add(std::string path, uint32_t base, bool contents);
  // The root itself is an implied directory ("./x" on the command line): it gets its line.
  void imply_root(uint32_t base) {
    if (!root_implied_) root_base_ = base;
    root_implied_ = true;
  }
  // Sorts the names and merges duplicates (the first wins; "dir/" wins over "dir"). A name given
  // from several bases keeps the others (merged_bases): a directory sent whole from several
  // sources is the union of their entries, as in rsync ("a/ b/ DEST", "-R a/./x b/./x").
  void finish();
  // Leaves out the names read from the bases marked (that could not be opened: rsync reports
  // the directory and sends nothing from it). Before finish().
  void drop_names_from(const std::vector<bool>& failed_bases);
  // The names given from several bases (the root's contents aside), by index, and those bases
  // in list order: the kept one first, then merged_bases().
  std::vector<std::pair<size_t, std::vector<uint32_t>>> names_from_several_bases() const;
  // Name `index` comes from `bases` (in list order, not empty): the first is kept, the others
  // are merged with it. (rsync keeps the first of the names it finds.)
  void set_bases(size_t index, const std::vector<uint32_t>& bases);
  const SelectedName& name(size_t index) const { return names_[index]; }

  const std::vector<std::string>& bases() const { return bases_; }
  size_t size() const { return names_.size(); }
  // Whether the root is itself an item (named as "." or "dir/./", or implied by "./x").
  bool root_listed() const { return root_named() || root_implied_; }
  bool root_named() const { return !names_.empty() && names_.front().path.empty(); }
  // The view of the root directory. `recursive`: -r.
  SelView root_view(bool recursive) const;

  // The children of the directory `view` looks at, in list order (use for non-full views).
  static std::vector<SelChild> children(const SelView& view);
  // The view of child `name` of `view`'s directory; nullopt when the child is to be walked as a
  // plain directory (entirely with -r, not at all without) because the list says nothing more
  // about it. A directory walked whole (-r) that the list names things below keeps a full view:
  // they are checked, and those from other bases added, as the walk meets them.
  static std::optional<SelView> child_view(const SelView& view, std::string_view name, bool recursive,
                                           uint32_t fallback_base);
  // The names the list holds below child `name` of `view`'s directory.
  static std::span<const SelectedName> names_below(const SelView& view, std::string_view name);

  // The other bases, in list order, that name the same path as `n` (one of this list's names;
  // nullptr: none).
  std::vector<uint32_t> merged_bases(const SelectedName* n) const;
  // The list's name for child `name` of `view`'s directory itself (its base, its place in the
  // list), or nullptr when the list does not name it.
  static const SelectedName* named_child(const SelView& view, std::string_view name);
  // The root's place, when the list names it.
  uint32_t root_order() const { return root_named() ? names_.front().order : 0; }
  // The bases a directory `rel` below the root ("" = the root) may be read from: the root's,
  // those of the names under its top component, and those merged with either.
  std::vector<uint32_t> bases_holding(std::string_view rel) const;
  // Those of the root, when the list names it.
  std::vector<uint32_t> root_merged_bases() const { return root_named() ? merged_bases(names_.data()) : std::vector<uint32_t>(); }

 private:
  std::vector<std::string> bases_;
  std::unordered_map<std::string, uint32_t> base_index_;  // add_base's: a long list has many
  std::vector<uint32_t> base_uses_;
  std::vector<SelectedName> names_;
  std::vector<std::pair<size_t, uint32_t>> merged_;  // (index in names_, another base), in name order
  bool root_implied_ = false;
  uint32_t root_base_ = 0;
};

// -R: how one command-line source splits into the directory it is read from and the path kept
// under DEST. "/x/./a/b" -> base "/x", kept "a/b"; "a/b" -> base ".", kept "a/b"; "/a/b" ->
// base "/", kept "a/b" (shown as "/a/b"); "./a" -> base ".", kept "a", the root implied.
struct RelativeSource {
  std::string base;
  std::string path;           // cleaned kept path ("" = the base itself)
  bool contents = false;      // a trailing slash (or "/.")
  bool root_implied = false;  // the kept part began with "./" (rsync sends "." too)
  bool absolute = false;      // lines show the path with its leading '/'
};
// Error: rsync's message for a ".." in the kept part (exit code 1).
std::variant<RelativeSource, std::string> parse_relative_source(const std::string& arg);

// A --files-from name as rsync reads it: leading slashes removed, then read as a -R source
// below the source directory ("a/./b" keeps "b", read from "a"; "./x" also sends the directory
// itself), "." components and repeated slashes dropped, ".." resolved without rising above the
// source directory ("../x" is "x"). `contents` is set for a trailing slash ("dir/" also sends the
// directory's entries). "." is the directory itself. nullopt for a blank name.
struct ListedName {
  std::string path;
  bool contents = false;
  std::string base;           // "a" for "a/./b": the kept path is below SRC/a ("" for SRC itself)
  bool root_implied = false;  // "./x": SRC itself is sent too (its line is "./")
};
std::optional<ListedName> clean_listed_name(std::string_view raw);

}  // namespace ringkit::sync
