#include "sync/attrs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>
#include <map>

#include "ringkit/fs.h"

namespace ringkit::sync {

// Our ids do not change during a run; asking the kernel per item showed up in strace.
uid_t my_euid() {
  static const uid_t id = ::geteuid();
  return id;
}

bool in_my_groups(gid_t gid) {
  static const std::vector<gid_t> groups = [] {
    std::vector<gid_t> g(static_cast<size_t>(std::max(0, ::getgroups(0, nullptr))));
    g.resize(static_cast<size_t>(std::max(0, ::getgroups(static_cast<int>(g.size()), g.data()))));
    g.push_back(::getegid());
    return g;
  }();
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

WantedAttrs wanted_attrs(const Options& opt, const FileStat& src, bool is_new, mode_t umask_bits) {
  WantedAttrs w;
  mode_t src_mode = src.stx_mode & 07777;
  if (opt.perms) {
    w.mode = src_mode;
    w.set_mode = true;
  } else if (is_new) {
    // Without -p, new items get the source's permissions less the umask (rsync's rule).
    w.mode = src_mode & ~umask_bits & 0777;
    w.set_mode = true;
  }
  // Ownership: -o needs privilege to give a file away; -g works for groups we belong to.
  if (opt.owner && my_euid() == 0) {
    w.uid = src.stx_uid;
    w.set_uid = true;
  }
  // -g: only a group we can give (root, or one we belong to), as rsync's is_in_group() decides;
  // otherwise the item keeps ours and nothing is reported as different.
  if (opt.group && (my_euid() == 0 || in_my_groups(src.stx_gid))) {
    w.gid = src.stx_gid;
    w.set_gid = true;
  }
  bool is_dir = S_ISDIR(src.stx_mode);
  bool is_link = S_ISLNK(src.stx_mode);
  if (opt.times && !(is_dir && opt.omit_dir_times) && !(is_link && opt.omit_link_times)) {
    w.mtime = src.stx_mtime;
    w.set_mtime = true;
  }
  if (opt.atimes && !is_dir) {
    w.atime = src.stx_atime;
    w.set_atime = true;
  }
  return w;
}

WantedAttrs final_dir_attrs(WantedAttrs want, const struct statx* current) {
  if (my_euid() == 0) return want;
  if (!want.set_mode) {
    if (current == nullptr) return want;
    want.mode = current->stx_mode & 07777;
  }
  if ((want.mode & S_IWUSR) != 0 && (want.mode & S_IRWXU) != S_IRWXU) {
    want.mode |= S_IRWXU;
    want.set_mode = true;
  }
  return want;
}

mode_t with_executability(mode_t dst_mode, mode_t src_mode) {
  mode_t perms = dst_mode & 07777;
  if (src_mode & 0111) {
    // Executable source: execute bits wherever the destination can be read.
    perms |= (perms & 0444) >> 2;
  } else {
    perms &= ~static_cast<mode_t>(0111);
  }
  return perms;
}

bool same_mtime(const FileStat& a, const FileStat& b, int64_t modify_window) {
  if (modify_window < 0) {
    // rsync: a negative window compares nanoseconds too.
    return a.stx_mtime.tv_sec == b.stx_mtime.tv_sec && a.stx_mtime.tv_nsec == b.stx_mtime.tv_nsec;
  }
  int64_t d = a.stx_mtime.tv_sec - b.stx_mtime.tv_sec;
  return std::llabs(d) <= modify_window;
}

WantedAttrs keeping_close_mtime(const Options& opt, WantedAttrs want, const struct statx& dst) {
  if (want.set_mtime && opt.modify_window > 0 &&
      std::llabs(dst.stx_mtime.tv_sec - want.mtime.tv_sec) <= opt.modify_window) {
    want.set_mtime = false;
  }
  return want;
}

void compare_attrs(const Options& opt, const WantedAttrs& want, const struct statx& dst, ItemChange& change) {
  if (opt.perms && want.set_mode && (dst.stx_mode & 07777) != want.mode) change.perms = true;
  if (want.set_uid && dst.stx_uid != want.uid) change.owner = true;
  if (want.set_gid && dst.stx_gid != want.gid) change.group = true;
  if (want.set_mtime && (dst.stx_mtime.tv_sec != want.mtime.tv_sec ||
                         (opt.modify_window < 0 && dst.stx_mtime.tv_nsec != want.mtime.tv_nsec))) {
    if (opt.modify_window <= 0 || std::llabs(dst.stx_mtime.tv_sec - want.mtime.tv_sec) > opt.modify_window) {
      change.time = true;
    }
  }
  if (want.set_atime && dst.stx_atime.tv_sec != want.atime.tv_sec) change.atime = true;
}

namespace {
timespec to_timespec(const statx_timestamp& t) { return {t.tv_sec, static_cast<long>(t.tv_nsec)}; }

bool needs_chown(const WantedAttrs& want, const struct statx* cur) {
  if (!want.set_uid && !want.set_gid) return false;
  if (cur == nullptr) return true;
  return (want.set_uid && cur->stx_uid != want.uid) || (want.set_gid && cur->stx_gid != want.gid);
}
bool needs_chmod(const WantedAttrs& want, const struct statx* cur, bool chowned) {
  if (!want.set_mode) return false;
  // chown clears set-user-ID and set-group-ID: set the mode again after it.
  if (chowned && (want.mode & (S_ISUID | S_ISGID))) return true;
  return cur == nullptr || (cur->stx_mode & 07777) != want.mode;
}
// Exact to the nanosecond: a copy carries the source's times even where rsync, comparing
// seconds, would leave a near miss alone. (Itemizing still compares as rsync does.)
bool needs_times(const WantedAttrs& want, const struct statx* cur) {
  if (!want.set_mtime && !want.set_atime) return false;
  if (cur == nullptr) return true;
  if (want.set_mtime && (cur->stx_mtime.tv_sec != want.mtime.tv_sec || cur->stx_mtime.tv_nsec != want.mtime.tv_nsec)) {
    return true;
  }
  return want.set_atime && (cur->stx_atime.tv_sec != want.atime.tv_sec || cur->stx_atime.tv_nsec != want.atime.tv_nsec);
}
void fill_times(const WantedAttrs& want, timespec times[2]) {
  times[0] = want.set_atime ? to_timespec(want.atime) : timespec{0, UTIME_OMIT};
  times[1] = want.set_mtime ? to_timespec(want.mtime) : timespec{0, UTIME_OMIT};
}
}  // namespace

// A group we may not give (not root, not a member): rsync keeps ours and carries on.
bool tolerable_chown_error(const Result<void>& r) {
  return !r && r.error() == std::errc::operation_not_permitted && my_euid() != 0;
}

Task<Result<void>> apply_attrs_fd(int fd, const WantedAttrs& want, const struct statx* current) {
  bool chowned = false;
  if (needs_chown(want, current)) {
    auto r = co_await fs::fchown(fd, want.set_uid ? want.uid : static_cast<uid_t>(-1),
                                 want.set_gid ? want.gid : static_cast<gid_t>(-1));
    if (!r && !tolerable_chown_error(r)) co_return r;
    chowned = r.ok();
  }
  if (needs_chmod(want, current, chowned)) {
    auto r = co_await fs::fchmod(fd, want.mode);
    if (!r) co_return r;
  }
  if (needs_times(want, current)) {
    timespec times[2];
    fill_times(want, times);
    auto r = co_await fs::futimens(fd, times);
    if (!r) co_return r;
  }
  co_return Result<void>{};
}

Task<Result<void>> apply_attrs_at(int dirfd, const std::string& name, bool is_symlink,
                                  const WantedAttrs& want, const struct statx* current) {
  bool chowned = false;
  if (needs_chown(want, current)) {
    auto r = co_await fs::fchownat(dirfd, name, want.set_uid ? want.uid : static_cast<uid_t>(-1),
                                   want.set_gid ? want.gid : static_cast<gid_t>(-1), AT_SYMLINK_NOFOLLOW);
    if (!r && !tolerable_chown_error(r)) co_return r;
    chowned = r.ok();
  }
  // Symlinks have no permissions of their own on Linux.
  if (!is_symlink && needs_chmod(want, current, chowned)) {
    auto r = co_await fs::fchmodat(dirfd, name, want.mode, 0);
    if (!r) co_return r;
  }
  if (needs_times(want, current)) {
    timespec times[2];
    fill_times(want, times);
    auto r = co_await fs::utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
    if (!r) co_return r;
  }
  co_return Result<void>{};
}

std::string fd_path(int dirfd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

namespace {

bool is_acl_name(const std::string& n) {
  return n == "system.posix_acl_access" || n == "system.posix_acl_default";
}

// Which attributes a run copies: -X the user/trusted/security namespaces, -A the ACLs.
bool wanted_name(const Options& opt, const std::string& n) {
  if (is_acl_name(n)) return opt.acls;
  if (n.starts_with("system.")) return false;
  return opt.xattrs;
}

Task<Result<size_t>> list_names(const XattrTarget& t, std::span<char> names) {
  if (t.fd >= 0) co_return co_await fs::flistxattr(t.fd, names);
  co_return co_await fs::llistxattr(t.path, names);
}
Task<Result<size_t>> get_value(const XattrTarget& t, const std::string& name, std::span<std::byte> value) {
  if (t.fd >= 0) co_return co_await fs::fgetxattr(t.fd, name, value);
  co_return co_await fs::lgetxattr(t.path, name, value);
}
Task<Result<void>> set_value(const XattrTarget& t, const std::string& name, std::span<const std::byte> value) {
  if (t.fd >= 0) co_return co_await fs::fsetxattr(t.fd, name, value);
  co_return co_await fs::lsetxattr(t.path, name, value);
}
Task<Result<void>> remove_value(const XattrTarget& t, const std::string& name) {
  if (t.fd >= 0) co_return co_await fs::fremovexattr(t.fd, name);
  co_return co_await fs::lremovexattr(t.path, name);
}

Task<Result<std::map<std::string, std::string>>> read_xattrs(const Options& opt, const XattrTarget& target) {
  std::map<std::string, std::string> out;
  std::vector<char> names(4096);
  for (;;) {
    auto n = co_await list_names(target, names);
    if (n) {
      names.resize(*n);
      break;
    }
    if (n.error() != std::errc::result_out_of_range) {
      // Symlinks and some file systems have no xattrs at all.
      if (n.error() == std::errc::operation_not_supported) co_return out;
      co_return n.error();
    }
    names.resize(names.size() * 4);
  }
  for (size_t i = 0; i < names.size();) {
    std::string name(&names[i]);
    i += name.size() + 1;
    if (!wanted_name(opt, name)) continue;
    std::vector<std::byte> value(256);
    for (;;) {
      auto n = co_await get_value(target, name, value);
      if (n) {
        value.resize(*n);
        break;
      }
      if (n.error() == std::errc::no_message_available) break;  // removed meanwhile
      if (n.error() != std::errc::result_out_of_range) co_return n.error();
      value.resize(value.size() * 4);
    }
    out.emplace(name, std::string(reinterpret_cast<const char*>(value.data()), value.size()));
  }
  co_return out;
}

}  // namespace

Task<Result<XattrDiff>> sync_xattrs(const Options& opt, const XattrTarget& src_item, const XattrTarget& dst_item,
                                    bool dst_is_new, bool dry_run) {
  XattrDiff diff;
  auto src = co_await read_xattrs(opt, src_item);
  if (!src) co_return src.error();
  std::map<std::string, std::string> dst;
  if (!dst_is_new) {
    auto d = co_await read_xattrs(opt, dst_item);
    if (!d) co_return d.error();
    dst = std::move(*d);
  }
  for (const auto& [name, value] : *src) {
    auto it = dst.find(name);
    if (it != dst.end() && it->second == value) continue;
    (is_acl_name(name) ? diff.acls_differ : diff.xattrs_differ) = true;
    if (dry_run) continue;
    auto r = co_await set_value(dst_item, name, std::as_bytes(std::span(value)));
    if (!r) co_return r.error();
  }
  for (const auto& [name, value] : dst) {
    if (src->count(name) != 0) continue;
    (is_acl_name(name) ? diff.acls_differ : diff.xattrs_differ) = true;
    if (dry_run) continue;
    auto r = co_await remove_value(dst_item, name);
    if (!r && r.error() != std::errc::no_message_available) co_return r.error();
  }
  if (dst_is_new) {
    // A new item has no attributes yet: only report the ones that were added.
    diff.xattrs_differ = diff.acls_differ = false;
  }
  co_return diff;
}

}  // namespace ringkit::sync
