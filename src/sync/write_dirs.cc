// Opening the directories of write_dirs.h for a run: the --temp-dir (which must exist), the
// --backup-dir's sanity check, and the --link-dest/--compare-dest/--copy-dest hierarchies.
#include "sync/write_dirs.h"

#include <fcntl.h>

#include "sync/syncer.h"

namespace ringkit::sync {

bool stays_inside(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

std::string parent_rel(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

std::string base_name(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// A directory named by an option, as rsync's receiver resolves it: relative to the destination
// root. See write_dirs.h for when symlinks are followed. In a dry run whose destination does
// not exist yet, a relative name is looked up by path (and normally not found).
Task<Result<fs::Fd>> Syncer::open_option_dir(const std::string& path, const std::string& dst_root_path) {
  if (!path.empty() && path[0] == '/') co_return co_await fs::openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
  if (!dst_root_.valid()) {
    co_return co_await fs::openat(AT_FDCWD, dst_root_path + "/" + path, O_RDONLY | O_DIRECTORY);
  }
  if (!stays_inside(path)) co_return co_await fs::openat(dst_root_.get(), path, O_RDONLY | O_DIRECTORY);
  co_return co_await fs::openat2(dst_root_.get(), path, O_RDONLY | O_DIRECTORY, 0,
                                 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

// Called for each source once its destination root is known. False (with the run stopped)
// when the --temp-dir or --backup-dir cannot be used, with rsync's messages and exit codes.
Task<bool> Syncer::open_write_dirs(const std::string& dst_root_path) {
  if (opt_.temp_dir && !wd_.temp.valid()) {
    const std::string& name = *opt_.temp_dir;
    auto fd = co_await open_option_dir(name, dst_root_path);
    if (!fd) {
      if (fd.error() == std::errc::no_such_file_or_directory) {
        rep_.fatal("The temp-dir does not exist: " + name, kExitUsage);
      } else if (fd.error() == std::errc::not_a_directory) {
        rep_.fatal("The temp-dir is not a directory: " + name, kExitUsage);
      } else {
        rep_.fatal("Failed to stat temp-dir " + name + ": " + fd.error().message(), kExitFileIo);
      }
      co_return false;
    }
    wd_.temp = std::move(*fd);
    auto st = co_await fs::statx(wd_.temp.get(), "", AT_EMPTY_PATH, STATX_TYPE);
    if (st) wd_.temp_dev = device_of(*st);
  }
  if (opt_.backup_dir && !wd_.backup_root.valid()) {
    // Made when the first backup needs it; something other than a directory there is an error
    // now, before anything is touched.
    auto fd = co_await open_option_dir(*opt_.backup_dir, dst_root_path);
    if (fd) {
      wd_.backup_root = std::move(*fd);
    } else if (fd.error() == std::errc::not_a_directory) {
      rep_.fatal("The backup-dir is not a directory: " + *opt_.backup_dir, kExitUsage);
      co_return false;
    }
  }
  if (wd_.basis_kind == BasisKind::kNone) {
    const std::vector<std::string>* names = nullptr;
    const char* option = "";
    if (!opt_.link_dest.empty()) {
      wd_.basis_kind = BasisKind::kLink;
      names = &opt_.link_dest;
      option = "--link-dest";
    } else if (!opt_.compare_dest.empty()) {
      wd_.basis_kind = BasisKind::kCompare;
      names = &opt_.compare_dest;
      option = "--compare-dest";
    } else if (!opt_.copy_dest.empty()) {
      wd_.basis_kind = BasisKind::kCopy;
      names = &opt_.copy_dest;
      option = "--copy-dest";
    }
    if (names != nullptr) {
      wd_.basis_names = *names;
      for (const std::string& name : *names) {
        // A missing one is only a warning (rsync's words, on stderr); it is then not searched.
        auto fd = co_await open_option_dir(name, dst_root_path);
        if (!fd && fd.error() == std::errc::no_such_file_or_directory) {
          rep_.error_line(std::string(option) + " arg does not exist: " + name, kExitOk);
        } else if (!fd && fd.error() == std::errc::not_a_directory) {
          rep_.error_line(std::string(option) + " arg is not a dir: " + name, kExitOk);
        } else if (!fd) {
          rep_.error_line(std::string(option) + " arg " + name + ": " + fd.error().message(), kExitOk);
        }
        wd_.basis.push_back(fd ? std::move(*fd) : fs::Fd());
      }
    }
  }
  co_return true;
}

}  // namespace ringkit::sync
