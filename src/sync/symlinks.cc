// Symlinks as items of the transfer: which source links are followed (-L, -k,
// --copy-unsafe-links) and what stops a followed loop; which destination links stand for
// directories (-K, --no-implied-dirs) and what is done through them; rsync's "unsafe" test.
//
// rsync finds a symlink loop only when the kernel says ELOOP: a path with more than 40 links
// in it. It walks a loop that far (one link: 40 levels of copies, then an error) and, with two
// loops in one directory, 2^40 paths: for ever. ringsync walks with one descriptor per
// directory, so the kernel never sees the whole path; it counts the links followed on the way
// (DirPair::links) and stops where rsync's kernel would, and it also keeps the directories on
// the way (ancestors_): a followed link that leads back to one of them is allowed as often as
// rsync would take it, but once kLoopBudget such returns have been made in a run, the next one
// is an error instead (rsync would go on for ever there).
#include <fcntl.h>
#include <linux/openat2.h>

#include <algorithm>

#include "sync/symlinks.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

constexpr int kMaxLinksInPath = 40;      // the kernel's MAXSYMLINKS: where rsync's path walk fails
constexpr uint64_t kLoopBudget = 1024;   // returns through a loop per run before we refuse more

std::error_code eloop() { return std::make_error_code(std::errc::too_many_symbolic_link_levels); }

}  // namespace

bool Syncer::follows_source_links() const {
  return opt_.copy_links || opt_.copy_dirlinks || opt_.copy_unsafe_links;
}

// rsync's readlink_stat(): -L follows every link; --copy-unsafe-links the unsafe ones; -k those
// that lead to a directory. `e.st` holds the link's own lstat. Returns false when the item is
// dropped (a link that must be followed but leads nowhere), which is reported unless `quiet`.
Task<bool> Syncer::follow_source_link(int dirfd, Entry& e, const std::string& rel, bool quiet) {
  std::string path = rel + e.name;
  bool must = opt_.copy_links;
  if (!must && opt_.copy_unsafe_links) {
    auto target = co_await fs::readlinkat(dirfd, e.name);
    must = target && is_unsafe_link(*target, rel);
  }
  if (!must && !opt_.copy_dirlinks) co_return true;  // stays a link
  auto st = co_await fs::statx(dirfd, e.name, 0, kStatxMask);
  if (!st) {
    if (!must) co_return true;  // -k: a link that leads nowhere stays a link
    if (!quiet) {
      if (st.error() == std::errc::no_such_file_or_directory) {
        rep_.error_line("symlink has no referent: \"" + path + "\"", kExitPartial);
      } else {
        rep_.file_error("readlink_stat", path, st.error());
      }
    }
    io_error_ = true;
    co_return false;
  }
  if (!must && !S_ISDIR(st->stx_mode)) co_return true;  // -k: only links to directories
  e.st = *st;
  e.followed = true;
  co_return true;
}

// Whether a directory reached through a followed link may be entered: an error when not
// (rsync's opendir would fail with ELOOP there). `links`: the links followed to get there.
std::error_code Syncer::enter_followed(const Entry& e, int links) {
  if (links > kMaxLinksInPath) return eloop();
  InodeKey key = inode_key(e.st);
  if (std::find(ancestors_.begin(), ancestors_.end(), key) == ancestors_.end()) return {};
  if (++loop_reentries_ <= kLoopBudget) return {};
  if (loop_reentries_ == kLoopBudget + 1) {
    rep_.warning("symlink loops: stopped following links that lead back to a directory above them after " +
                 std::to_string(kLoopBudget) + " times");
  }
  return eloop();
}

// A destination symlink where the source has a directory: with -K (or for an implied directory
// under --no-implied-dirs) it stands for the directory it leads to, when that is one. kInside:
// it resolves inside DEST, and `out` is that directory. kOutside: it leads out of DEST, which
// rsync refuses (ELOOP) and so do we: nothing is written through it.
Task<Syncer::DirLink> Syncer::dest_dirlink(DirPair& parent, const std::string& name, const std::string& rel,
                                           fs::Fd& out) {
  auto st = co_await fs::statx(parent.dst.get(), name, 0, STATX_TYPE);
  if (!st || !S_ISDIR(st->stx_mode)) co_return DirLink::kNone;  // dangling, or not a directory: replaced
  if (!dst_root_.valid()) co_return DirLink::kOutside;
  std::string path = rel.substr(0, rel.size() - 1);  // rel ends in '/'
  auto fd = co_await fs::openat2(dst_root_.get(), path, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH);
  if (!fd) co_return DirLink::kOutside;
  out = std::move(*fd);
  co_return DirLink::kInside;
}

// -K: a directory reached through a destination link gets its times (and owner) set on the
// link itself, and its permissions not at all: rsync does the same (its chmod refuses to follow
// the link, an error), so that a re-run shows the same itemized line as rsync's.
Task<void> Syncer::set_dirlink_attrs(DirPair& dir, const WantedAttrs& want, const std::string& display) {
  WantedAttrs on_link = want;
  on_link.set_mode = false;
  auto link_st = co_await fs::statx(dir.link_dir, dir.link_name, AT_SYMLINK_NOFOLLOW, kStatxMask);
  auto r = co_await apply_attrs_at(dir.link_dir, dir.link_name, true, on_link, link_st ? &*link_st : nullptr);
  if (!r) rep_.file_error("set attributes of", display, r.error());
  if (!want.set_mode) co_return;
  auto now = co_await fs::statx(dir.link_dir, dir.link_name, 0, STATX_MODE);
  if (now && (now->stx_mode & 07777) != want.mode) rep_.file_error("set permissions on", display, eloop());
}

bool Syncer::is_unsafe_link(const std::string& target, const std::string& dir_rel) {
  return is_unsafe_symlink(target, dir_rel);
}

bool is_unsafe_symlink(std::string_view target, std::string_view dir_rel) {
  if (target.empty() || target[0] == '/') return true;
  size_t lead = 0;
  while (target.substr(lead).starts_with("../")) {
    lead += 3;
    while (lead < target.size() && target[lead] == '/') ++lead;
  }
  if (target.find("/../", lead) != std::string_view::npos) return true;
  if (target.size() > 3 && target.ends_with("/..")) return true;
  int depth = static_cast<int>(std::count(dir_rel.begin(), dir_rel.end(), '/'));
  for (std::string_view part : path_components(target)) {
    if (part != "..") {
      ++depth;
    } else if (--depth < 0) {
      return true;
    }
  }
  return false;
}

}  // namespace ringkit::sync
