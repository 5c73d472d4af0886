// --list-only (and the one-argument form, `ringsync SRC`): the source's items as rsync lists
// them, one a line: permissions, size, modification time, name. Nothing is written anywhere.
// The walk is the transfer's (filters, file-list order, -r or one level, -x) without a
// destination.
#include <fcntl.h>

#include <algorithm>
#include <ctime>

#include "sync/out_format.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

// rsync's human_num(): thousands separators by default; -h: units of 1000, -hh: of 1024.
std::string listed_size(uint64_t n, int human) { return human_number(n, human == 0 ? 1 : std::min(human + 1, 3)); }

}  // namespace

void Syncer::list_line(const FileStat& st, const std::string& name, const std::string& target) {
  uint64_t size = S_ISCHR(st.stx_mode) || S_ISBLK(st.stx_mode) ? 0 : st.stx_size;
  char head[64];
  std::snprintf(head, sizeof head, "%s %14s %s ", permission_string(st.stx_mode).c_str(),
                listed_size(size, opt_.human_readable).c_str(), rsync_time(st.stx_mtime.tv_sec).c_str());
  std::string line = head + name;
  if (!target.empty()) line += " -> " + target;
  rep_.line(line);
  // For the -v summary and --stats, as rsync counts its file list.
  rep_.stats().files.add(st.stx_mode);
  if (S_ISREG(st.stx_mode) || S_ISLNK(st.stx_mode)) rep_.stats().total_size += st.stx_size;
}

Task<void> Syncer::list_item(int dirfd, const Entry& e, const std::string& path) {
  std::string target;
  if (e.is_symlink() && opt_.links) {
    auto t = co_await fs::readlinkat(dirfd, e.name);
    if (t) target = *t;
  }
  list_line(e.st, path, target);
}

Task<void> Syncer::list_source(const SourceArg& source) {
  int follow = source.contents ? 0 : AT_SYMLINK_NOFOLLOW;
  auto st = co_await fs::statx(AT_FDCWD, source.path, follow, kStatxMask);
  if (!st) {
    rep_.file_error("link_stat", source.path, st.error());
    co_return;
  }
  root_dev_ = device_of(*st);
  std::optional<FilterList> filters = side_filters(source);
  FilterList* f = filters ? &*filters : nullptr;
  auto parent = co_await fs::openat(AT_FDCWD, dirname_of(source.path), O_RDONLY | O_DIRECTORY);
  Entry top{source.contents ? "." : source.name, 0, *st, true};
  if (S_ISDIR(st->stx_mode) && !opt_.recursive && !opt_.dirs) {  // (--no-d)
    say_skipped_dir(top.name);
    co_return;
  }
  if (source.contents && S_ISDIR(st->stx_mode)) {
    list_line(*st, ".", {});
    auto dir = co_await fs::openat(AT_FDCWD, source.path, O_RDONLY | O_DIRECTORY);
    if (!dir) {
      rep_.file_error("opendir", source.path, dir.error());
      co_return;
    }
    // Without -r the listing still shows one level (rsync's --list-only implies -d).
    co_await list_dir(dir->get(), "", f, opt_.recursive);
    co_return;
  }
  if (f != nullptr) {
    if (!f->push_dir("")) co_return;
    bool skip = f->matches(source.name, S_ISDIR(st->stx_mode), Side::kSender) == Decision::kExcluded;
    if (skip) {
      f->pop_dir();
      co_return;
    }
  }
  if (parent) co_await list_item(parent->get(), top, source.name);
  if (S_ISDIR(st->stx_mode) && opt_.recursive) {
    auto dir = co_await fs::openat(AT_FDCWD, source.path, O_RDONLY | O_DIRECTORY);
    if (dir) co_await list_dir(dir->get(), source.name + "/", f, true);
  }
  if (f != nullptr) f->pop_dir();
}

Task<void> Syncer::list_dir(int dirfd, std::string rel, FilterList* filters, bool recurse, int links) {
  auto listed = co_await list_directory(dirfd);
  if (!listed) {
    rep_.file_error("opendir", rel.empty() ? "." : rel, listed.error());
    co_return;
  }
  std::vector<Entry> entries = std::move(*listed);
  co_await stat_entries(dirfd, entries, rel);
  if (!enter_filtered(filters, rel, entries)) co_return;
  std::vector<Entry*> dirs;
  for (Entry& e : entries) {
    if (e.is_dir()) {
      dirs.push_back(&e);
    } else {
      co_await list_item(dirfd, e, rel + e.name);
    }
  }
  std::sort(dirs.begin(), dirs.end(), [](const Entry* a, const Entry* b) { return a->name + "/" < b->name + "/"; });
  for (Entry* e : dirs) {
    list_line(e->st, rel + e->name, {});
    if (!recurse || (opt_.one_file_system > 0 && device_of(e->st) != root_dev_)) continue;
    // -L/-k: through a followed link, as the transfer goes (and as far: see symlinks.cc).
    int sub_links = links + (e->followed ? 1 : 0);
    if (e->followed) {
      if (std::error_code loop = enter_followed(*e, sub_links)) {
        rep_.file_error("opendir", rel + e->name, loop);
        continue;
      }
    }
    auto sub = co_await fs::openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | (e->followed ? 0 : O_NOFOLLOW));
    if (!sub) {
      rep_.file_error("opendir", rel + e->name, sub.error());
      continue;
    }
    ancestors_.push_back(inode_key(e->st));
    co_await list_dir(sub->get(), rel + e->name + "/", filters, true, sub_links);
    ancestors_.pop_back();
  }
  if (filters != nullptr) filters->pop_dir();
}

}  // namespace ringkit::sync
