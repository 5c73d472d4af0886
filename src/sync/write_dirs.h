// WriteDirs: the directories ringsync writes to (or reads from) besides the destination tree's
// own directories, as rsync resolves them for a local copy: relative names are relative to the
// destination directory (rsync's receiver works from inside it).
//
//  - --temp-dir=DIR: where a file's data is written before it is put in place. It must exist.
//  - --backup-dir=DIR: the root of a hierarchy that mirrors the destination, made when the first
//    backup needs it.
//  - --partial-dir=DIR (and --delay-updates, whose holding dir is a partial dir): relative, one
//    such directory inside each destination directory, made when needed and removed once empty;
//    absolute, one directory for all.
//  - --link-dest/--compare-dest/--copy-dest=DIR: up to 20 "basis" hierarchies that files are
//    compared with, and linked or copied from.
//
// Symlinks: a name given on the command line that leads outside the destination (absolute, or
// relative with a ".." component) is the user's explicit choice and is resolved as given. A
// relative name that stays inside the destination is resolved without following any symlink, so
// that a symlink planted in the destination cannot redirect a write; below each root, nothing
// is ever followed either.
//
// Plain state owned by the Syncer; the operations are Syncer members (write_dirs.cc, backup.cc,
// partial.cc, basis.cc). Thread affinity: the executor thread that runs the sync.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "ringkit/fs.h"
#include "sync/filter.h"
#include "sync/options.h"

namespace ringkit::sync {

// Which --*-dest option the basis directories came from (rsync allows one kind per run).
enum class BasisKind { kNone, kLink, kCompare, kCopy };

// One file put in its directory's holding dir by --delay-updates, to be renamed into place
// when the transfer ends.
struct DelayedUpdate {
  std::string rel;  // the item's path below the destination root
};

// A hard link (-H) to a group leader that --delay-updates holds back: made once the leader is
// in place.
struct DelayedLink {
  std::string member;  // path below the destination root
  std::string leader;
};

struct WriteDirs {
  fs::Fd temp;               // --temp-dir (invalid: none)
  uint64_t temp_dev = 0;     // its device, to tell when a rename cannot reach the destination

  BasisKind basis_kind = BasisKind::kNone;
  std::vector<std::string> basis_names;  // as given
  std::vector<fs::Fd> basis;             // parallel to basis_names; invalid: missing, skipped
  bool basis_warned = false;             // "--link-dest arg does not exist" is said once

  fs::Fd backup_root;                    // --backup-dir, once made
  std::string backup_dir_rel;            // the last backup directory opened below it ...
  std::shared_ptr<fs::Fd> backup_dir;    // ... and its descriptor

  fs::Fd partial_root;                   // --partial-dir=/...: the one directory, once opened
  bool partial_names_listed = false;     // ... and the names in it (listed once)
  std::unordered_set<std::string> partial_names;
  std::unordered_set<std::string> partial_dirs;  // relative: the directories (rel) that have one

  std::vector<DelayedUpdate> delayed;
  std::unordered_set<std::string> delayed_paths;  // -H, --remove-source-files: which files are held back
  std::vector<DelayedLink> delayed_links;
};

// rsync's rule for a relative --partial-dir (and --delay-updates' .~tmp~), added after all
// others: "-p DIR/", so that the source's partial dirs are not sent and the destination's are
// not deleted (unless the directory holding them is).
FilterStatus add_partial_dir_rule(const Options& opt, FilterList& list);

// Whether a relative option path stays inside the directory it is relative to ("sub/x" does,
// "../x" and "a/../../x" do not; "a/../b" is treated as leaving, to be safe).
bool stays_inside(const std::string& relative_path);

// The path of `rel` (an item below the destination root) joined to a basis or backup root.
std::string parent_rel(const std::string& rel);
std::string base_name(const std::string& rel);

}  // namespace ringkit::sync
