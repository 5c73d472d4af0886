#include "tftp/stale_uploads.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "ringkit/fs.h"
#include "ringkit/yield.h"
#include "tftp/files.h"

namespace ringkit::tftp {

namespace {

using std::chrono::system_clock;

// Stay below the directory we started from, and never through a symlink.
constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

struct Sweep {
  system_clock::time_point started;
  std::stop_token stop;
  SweepStats stats;
  uint32_t steps = 0;
};

system_clock::time_point modified(const struct statx& st) {
  auto since_epoch = std::chrono::seconds(st.stx_mtime.tv_sec) +
                     std::chrono::nanoseconds(st.stx_mtime.tv_nsec);
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(since_epoch));
}

// Removes `name` in `dirfd` if it is a regular file older than the sweep.
Task<void> consider(Sweep& s, int dirfd, const std::string& name) {
  auto st = co_await fs::statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MTIME);
  if (!st) {
    if (st.error() != std::errc::no_such_file_or_directory) ++s.stats.errors;
    co_return;
  }
  if (!S_ISREG(st->stx_mode) || modified(*st) >= s.started - kClockSlack) {
    ++s.stats.kept;
    co_return;
  }
  auto removed = co_await fs::unlinkat(dirfd, name, 0);
  if (removed) {
    ++s.stats.removed;
  } else if (removed.error() != std::errc::no_such_file_or_directory) {
    ++s.stats.errors;
  }
}

Task<void> sweep_dir(Sweep& s, int dirfd, int depth) {
  ++s.stats.directories;
  std::vector<std::byte> buf(16 * 1024);
  std::vector<std::string> subdirs;
  for (;;) {
    if (s.stop.stop_requested()) co_return;
    auto n = co_await fs::getdents(dirfd, buf);
    if (!n) {
      ++s.stats.errors;
      break;
    }
    if (*n == 0) break;
    for (fs::DirEntry e : fs::DirEntries(std::span<const std::byte>(buf).first(*n))) {
      if (++s.steps % 32 == 0) co_await yield_now();  // a long listing is no deep stack
      std::string name(e.name);
      bool is_dir = e.type == DT_DIR;
      if (e.type == DT_UNKNOWN) {  // file systems that do not fill d_type
        auto st = co_await fs::statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
        is_dir = st && S_ISDIR(st->stx_mode);
      }
      if (is_dir) {
        subdirs.push_back(std::move(name));
      } else if (is_upload_temp_name(name)) {
        co_await consider(s, dirfd, name);
      }
    }
  }
  if (depth >= kMaxDepth) co_return;
  for (const std::string& name : subdirs) {
    if (s.stop.stop_requested()) co_return;
    auto sub = co_await fs::openat2(dirfd, name, kDirFlags, 0, kResolve);
    if (!sub) {
      // Gone meanwhile, or replaced by a symlink (refused: ELOOP): nothing of ours to sweep.
      if (sub.error() != std::errc::no_such_file_or_directory &&
          sub.error() != std::errc::too_many_symbolic_link_levels) {
        ++s.stats.errors;
      }
      continue;
    }
    co_await sweep_dir(s, sub->get(), depth + 1);
  }
}

}  // namespace

Task<SweepStats> remove_stale_uploads(int root_fd, system_clock::time_point started,
                                      std::stop_token stop) {
  Sweep s{started, std::move(stop), {}, 0};
  auto root = co_await fs::openat2(root_fd, ".", kDirFlags, 0, kResolve);
  if (!root) {
    ++s.stats.errors;
    co_return s.stats;
  }
  co_await sweep_dir(s, root->get(), 0);
  co_return s.stats;
}

}  // namespace ringkit::tftp
