// --link-dest, --compare-dest, --copy-dest: the basis hierarchies, as rsync 3.5.0 uses them.
//
// An item whose destination is missing is looked up under each basis directory in turn (the
// same path below it). A match has a level: 1 the same kind of item, 2 also the same content
// (the quick check, or -c) or the same symlink target or device, 3 also the same attributes
// (times, permissions, owner, group, ACLs, xattrs, as the options preserve them). The search
// stops at the first level-3 match; otherwise the best level found first wins. Then:
//  - level 3, --link-dest: the item is hard-linked from the basis ("hf" with -ii only; with -H
//    its group's other members are linked to it, listed with -ii only);
//  - level 3, --compare-dest: nothing is created (".f" with -ii only);
//  - level 3, --copy-dest, or level 2 for a regular file: a local copy from the basis, then the
//    source's attributes ("cf" and the attributes that differ from the basis's);
//  - level 1 (and level 2 of a symlink/device/special): the item is made from the source as
//    usual, but itemized against the basis item, not as new (">f.st......", "cLc........");
//  - directories are always made; a level-3 one is said only with -ii ("cd          sub/").
// A regular file that exists already gives way only to a level-3 match under --link-dest
// (unless it is that very inode) or --compare-dest, which then removes it (rsync's "NOTE: rsync
// will remove a file from a non-empty destination hierarchy if an exact match is found").
// Where rsync differs from this: for regular files, rsync stops checking content once it has
// a level-2 match, so a later basis file of other content but equal attributes can be linked;
// ringsync checks each one.
#include <fcntl.h>
#include <sys/sysmacros.h>

#include <optional>

#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

bool same_kind(const FileStat& a, const struct statx& b) {
  auto device = [](mode_t m) { return S_ISCHR(m) || S_ISBLK(m); };
  auto special = [](mode_t m) { return S_ISFIFO(m) || S_ISSOCK(m); };
  if (device(a.stx_mode)) return device(b.stx_mode);
  if (special(a.stx_mode)) return special(b.stx_mode);
  return (a.stx_mode & S_IFMT) == (b.stx_mode & S_IFMT);
}

// -H: a group's leader linked from a --link-dest has the basis item's inode; noted for its
// members (basis_for_member), also in a dry run, where the leader is not made.
void note_basis_leader(HardLinkGroup& group, const struct statx& basis) {
  group.leader_ino = basis.stx_ino;
  group.leader_dev_major = basis.stx_dev_major;
  group.leader_dev_minor = basis.stx_dev_minor;
}


}  // namespace

// rsync's unchanged_attrs(): the attributes that decide a level-3 match.
Task<bool> Syncer::basis_attrs_match(const BasisQuery& q, const struct statx& basis, size_t index) {
  const FileStat& src = *q.st;
  WantedAttrs want = wanted_attrs(opt_, src, true, umask_);
  bool link = S_ISLNK(src.stx_mode);
  bool times = opt_.times && !(link && opt_.omit_link_times);
  if (times && !same_mtime(src, basis, opt_.modify_window)) co_return false;
  if (!link) {
    if (opt_.perms && (src.stx_mode & 07777) != (basis.stx_mode & 07777)) co_return false;
    if (!opt_.perms && opt_.executability && ((src.stx_mode & 0111) != 0) != ((basis.stx_mode & 0111) != 0)) {
      co_return false;
    }
  }
  if (want.set_uid && basis.stx_uid != want.uid) co_return false;
  if (want.set_gid && basis.stx_gid != want.gid) co_return false;
  if (opt_.xattrs || (opt_.acls && !link)) {
    auto x = co_await sync_xattrs(opt_, q.xattrs, XattrTarget::of_path(fd_path(wd_.basis[index].get(), q.rel)),
                                  false, true);
    if (!x || x->xattrs_differ || (x->acls_differ && !link)) co_return false;
  }
  co_return true;
}

// rsync's unchanged_file() against the basis file: size, then -c, --size-only, -I, mtime.
Task<bool> Syncer::basis_content_matches(const BasisQuery& q, const struct statx& basis, size_t index) {
  if (basis.stx_size != q.st->stx_size) co_return false;
  if (opt_.checksum) {
    co_return co_await same_file_content(q.src_dirfd, q.src_name, wd_.basis[index].get(), q.rel);
  }
  if (opt_.size_only) co_return true;
  if (opt_.ignore_times) co_return false;
  co_return same_mtime(basis, *q.st, opt_.modify_window);
}

Task<Syncer::BasisMatch> Syncer::find_basis(const BasisQuery& q) {
  BasisMatch best;
  for (size_t j = 0; j < wd_.basis.size(); ++j) {
    if (!wd_.basis[j].valid()) continue;
    Result<struct statx> st = std::make_error_code(std::errc::no_such_file_or_directory);
    if (q.rel.empty()) {
      st = co_await fs::statx(wd_.basis[j].get(), "", AT_EMPTY_PATH, kStatxMask);
    } else {
      st = co_await fs::statx(wd_.basis[j].get(), q.rel, AT_SYMLINK_NOFOLLOW, kStatxMask);
    }
    if (!st || !same_kind(*q.st, *st)) continue;
    if (best.level < 1) best = {1, j, *st};
    bool same_value = true;
    if (S_ISREG(q.st->stx_mode)) {
      same_value = co_await basis_content_matches(q, *st, j);
    } else if (S_ISLNK(q.st->stx_mode)) {
      auto target = co_await fs::readlinkat(wd_.basis[j].get(), q.rel);
      same_value = target && *target == q.target;
    } else if (S_ISCHR(q.st->stx_mode) || S_ISBLK(q.st->stx_mode)) {
      same_value = st->stx_rdev_major == q.st->stx_rdev_major && st->stx_rdev_minor == q.st->stx_rdev_minor;
    }
    if (!same_value) continue;
    if (best.level < 2) best = {2, j, *st};
    if (co_await basis_attrs_match(q, *st, j)) {
      best = {3, j, *st};
      break;
    }
  }
  co_return best;
}

// The 'x' and 'a' letters of an item itemized against a basis item.
Task<void> Syncer::basis_xattr_letters(const BasisQuery& q, size_t index, ItemChange& change) {
  if (!opt_.xattrs && !opt_.acls) co_return;
  auto x = co_await sync_xattrs(opt_, q.xattrs, XattrTarget::of_path(fd_path(wd_.basis[index].get(), q.rel)), false,
                                true);
  if (!x) co_return;
  change.xattr = x->xattrs_differ;
  change.acl = x->acls_differ && !S_ISLNK(q.st->stx_mode);
}

// A regular file, before it is compared with (or copied to) its destination: what the basis
// directories have for it. kDone: handled (linked, or left to the --compare-dest match);
// kCopy: to be copied from the basis (match.level >= 2); kCompare: to be transferred and
// itemized against match.st; kNone: as if there were no basis directories.
Task<Syncer::BasisAction> Syncer::basis_for_regular(DirPair& dir, Work& work, const struct statx* dst,
                                                    BasisMatch& match) {
  Entry& e = *work.src;
  bool exists = dst != nullptr;
  if (wd_.basis.empty() || (exists && wd_.basis_kind == BasisKind::kCopy)) co_return BasisAction::kNone;
  std::string rel = dir.rel + work.dst_name;
  BasisQuery q{rel, &e.st, XattrTarget::of_path(fd_path(dir.src.get(), e.name)), dir.src.get(), e.name, {}};
  match = co_await find_basis(q);
  if (match.level == 0) co_return BasisAction::kNone;
  if (match.level == 3 && wd_.basis_kind != BasisKind::kCopy) {
    bool link = wd_.basis_kind == BasisKind::kLink;
    if (exists && link && dst->stx_ino == match.st.stx_ino && dst->stx_dev_major == match.st.stx_dev_major &&
        dst->stx_dev_minor == match.st.stx_dev_minor) {
      co_return BasisAction::kNone;  // already that very file
    }
    if (link) {
      bool linked = co_await link_from_basis(dir, work, match, exists);
      if (!linked) co_return exists ? BasisAction::kNone : BasisAction::kCopy;
    } else if (exists && !opt_.dry_run) {
      // --compare-dest: the basis has it exactly, so the destination does not need it.
      auto gone = co_await fs::unlinkat(dir.dst.get(), work.dst_name, 0);
      if (!gone) rep_.file_error("unlink", rel, gone.error());
    }
    ItemChange change{link ? ItemChange::Update::kHardLink : ItemChange::Update::kNoUpdate, ItemChange::Type::kFile};
    // (Nothing significant changed: the output lists it with -ii only.)
    if (out_.wants_items()) work.line = line_for(change, rel, {}, e.st, &e);
    // -H: a linked leader's group is linked to it (listed with -ii only); a compared one's
    // members are each compared in turn.
    work.outcome = link ? Work::Outcome::kDone : Work::Outcome::kSkipped;
    work.sent = Work::Sent::kInPlace;  // (either way the destination needs nothing more)
    if (link && work.group != nullptr) note_basis_leader(*work.group, match.st);
    co_return BasisAction::kDone;
  }
  if (exists) co_return BasisAction::kNone;  // an existing file gives way to exact matches only
  co_return match.level >= 2 ? BasisAction::kCopy : BasisAction::kCompare;
}

// --link-dest: the basis file under the item's name (in place of an existing one, atomically).
// False if the link cannot be made (another file system, say): the caller copies instead.
Task<bool> Syncer::link_from_basis(DirPair& dir, Work& work, const BasisMatch& match, bool exists) {
  if (opt_.dry_run) co_return true;
  std::string rel = dir.rel + work.dst_name;
  int basis = wd_.basis[match.index].get();
  if (!exists) {
    auto linked = co_await fs::linkat(basis, rel, dir.dst.get(), work.dst_name, 0);
    co_return linked.ok();
  }
  std::string held = temp_name(work.dst_name);
  auto linked = co_await fs::linkat(basis, rel, dir.dst.get(), held, 0);
  if (!linked) co_return false;
  auto moved = co_await fs::renameat2(dir.dst.get(), held, dir.dst.get(), work.dst_name, 0);
  if (!moved) co_await fs::unlinkat(dir.dst.get(), held, 0);
  co_return moved.ok();
}

// The line of a regular file copied from (kCopy) or transferred against (kCompare) a basis file.
Task<void> Syncer::basis_regular_line(DirPair& dir, Work& work, const BasisMatch& match, BasisAction action,
                                      const WantedAttrs& want) {
  Entry& e = *work.src;
  std::string rel = dir.rel + work.dst_name;
  bool copy = action == BasisAction::kCopy;
  ItemChange change{copy ? ItemChange::Update::kLocalChange : ItemChange::Update::kTransfer, ItemChange::Type::kFile};
  change.size = match.st.stx_size != e.st.stx_size;
  change.changed = !copy && opt_.checksum;
  compare_attrs(opt_, want, match.st, change);
  if (!opt_.times && !copy) {
    change.time = true;  // set to the time of the transfer
    change.time_is_now = true;
  }
  BasisQuery q{rel, &e.st, XattrTarget::of_path(fd_path(dir.src.get(), e.name)), dir.src.get(), e.name, {}};
  co_await basis_xattr_letters(q, match.index, change);
  if (out_.wants_items()) work.line = line_for(change, rel, {}, e.st, &e);
}

// A symlink, device or special file whose destination is missing. kDone: the basis handled it
// (linked, or matched by --compare-dest). kCopy: the caller makes it without a line (--copy-dest
// found it exactly; said with -ii). kNone: the caller makes it and itemizes it with `change`,
// which this fills when the basis has an item of its kind.
Task<Syncer::BasisAction> Syncer::basis_for_other(DirPair& dir, Work& work, const std::string& target,
                                                  const WantedAttrs& want, ItemChange& change) {
  if (wd_.basis.empty()) co_return BasisAction::kNone;
  Entry& e = *work.src;
  std::string rel = dir.rel + work.dst_name;
  BasisQuery q{rel, &e.st, XattrTarget::of_path(fd_path(dir.src.get(), e.name)), -1, {}, target};
  BasisMatch match = co_await find_basis(q);
  if (match.level == 0) co_return BasisAction::kNone;
  if (match.level == 3) {
    ItemChange said{ItemChange::Update::kNoUpdate, ItemChange::type_of(e.st.stx_mode)};
    bool linked = false;
    if (wd_.basis_kind == BasisKind::kLink) {
      Result<void> made;
      if (!opt_.dry_run) made = co_await fs::linkat(wd_.basis[match.index].get(), rel, dir.dst.get(), work.dst_name, 0);
      if (made) {
        linked = true;
        said.update = ItemChange::Update::kHardLink;
        // (No note_basis_leader(): rsync -n lists this leader's members as new.)
      } else {
        rep_.file_error("hard-link " + wd_.basis_names[match.index] + "/" + rel + " with", rel, made.error());
      }
    } else if (wd_.basis_kind == BasisKind::kCopy) {
      said.update = ItemChange::Update::kLocalChange;
    }
    if (out_.wants_items()) {
      // ("%i %n%L": a symlink shows its target, also after an 'h'.)
      bool link = said.update == ItemChange::Update::kHardLink;
      work.line = line_for(said, rel, link ? std::string() : target, e.st, &e);
      if (link && e.is_symlink()) work.line.set_symlink_target(target);
    }
    if (linked || wd_.basis_kind == BasisKind::kCompare) {
      // (Not Sent: rsync's sender keeps a symlink or special file a basis directory had.)
      work.outcome = linked ? Work::Outcome::kDone : Work::Outcome::kSkipped;
      co_return BasisAction::kDone;
    }
    if (wd_.basis_kind == BasisKind::kCopy) co_return BasisAction::kCopy;
  }
  // Made from the source, itemized against what the basis has.
  change.is_new = false;
  change.changed = true;
  compare_attrs(opt_, want, match.st, change);
  co_await basis_xattr_letters(q, match.index, change);
  co_return BasisAction::kNone;
}

// A directory this run creates: itemized against a basis directory of the same path, if there
// is one. True for a level-3 match (nothing to say but with -ii).
Task<bool> Syncer::basis_for_dir(const std::string& rel_dir, const FileStat& src_st, const XattrTarget& src_x,
                                 const WantedAttrs& want, ItemChange& change) {
  if (wd_.basis.empty()) co_return false;
  std::string rel = rel_dir.empty() ? rel_dir : rel_dir.substr(0, rel_dir.size() - 1);
  BasisQuery q{rel, &src_st, src_x, -1, {}, {}};
  BasisMatch match = co_await find_basis(q);
  if (match.level == 0) co_return false;
  change.is_new = false;
  if (match.level == 3) co_return true;
  compare_attrs(opt_, want, match.st, change);
  co_await basis_xattr_letters(q, match.index, change);
  co_return false;
}

// -H: a member about to be linked to its group's leader, its destination missing. rsync
// itemizes it against a basis item rather than as new when there is one: under --link-dest an
// item on the leader's inode (and lists it with -ii only, `quiet`), under the others a regular
// file that passes the quick check (preferring one whose attributes match too).
Task<void> Syncer::basis_for_member(const std::string& rel, const FileStat& src, const HardLinkGroup& group,
                                    ItemChange& change, bool& quiet) {
  if (wd_.basis.empty()) co_return;
  // (rsync's quick check never passes for other kinds here: they are always new.)
  if (wd_.basis_kind != BasisKind::kLink && !S_ISREG(src.stx_mode)) co_return;
  BasisQuery q{rel, &src, XattrTarget::of_path(fd_path(src_root_.get(), rel)), src_root_.get(), rel, {}};
  std::optional<struct statx> found;
  for (size_t j = 0; j < wd_.basis.size(); ++j) {
    if (!wd_.basis[j].valid()) continue;
    auto st = co_await fs::statx(wd_.basis[j].get(), rel, AT_SYMLINK_NOFOLLOW, kStatxMask);
    if (!st) continue;
    if (wd_.basis_kind == BasisKind::kLink) {
      if (st->stx_ino != group.leader_ino || st->stx_dev_major != group.leader_dev_major ||
          st->stx_dev_minor != group.leader_dev_minor) {
        continue;
      }
      found = *st;
      quiet = true;
      break;
    }
    if (st->stx_size != src.stx_size || !same_mtime(*st, src, opt_.modify_window)) continue;
    found = *st;
    if (co_await basis_attrs_match(q, *st, j)) break;
  }
  if (!found) co_return;
  change.is_new = false;
  WantedAttrs want = wanted_attrs(opt_, src, false, umask_);
  if (S_ISLNK(src.stx_mode)) want.set_mode = false;
  compare_attrs(opt_, want, *found, change);
  change.size = S_ISREG(src.stx_mode) && found->stx_size != src.stx_size;
}

}  // namespace ringkit::sync
