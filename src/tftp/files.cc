#include "tftp/files.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

namespace ringkit::tftp {

namespace {

std::error_code denied() { return std::make_error_code(std::errc::permission_denied); }

uint64_t resolve_flags(const FileRules& rules) {
  uint64_t flags = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  if (!rules.follow_symlinks) flags |= RESOLVE_NO_SYMLINKS;
  return flags;
}

constexpr char kTempChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kTempMark = ".~rk";
constexpr size_t kTempRandom = 6;
constexpr size_t kTempBaseMax = 200;

std::string temp_name_for(const std::string& base) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  // A name of up to 255 bytes must still get a temporary name within NAME_MAX: only the
  // start of it is kept (the temporary name needs to be unique, not complete).
  std::string name = "." + base.substr(0, kTempBaseMax) + std::string(kTempMark);
  for (size_t i = 0; i < kTempRandom; ++i) name += kTempChars[rng() % (sizeof kTempChars - 1)];
  return name;
}

}  // namespace

FileRules FileRules::from(const ServerConfig& config) {
  return FileRules{.follow_symlinks = config.follow_symlinks,
                   .permissive = config.permissive,
                   .uploads = config.uploads,
                   .umask = config.upload_umask,
                   .upload_patterns = config.upload_patterns};
}

Result<std::string> relative_path(std::string_view filename) {
  size_t start = filename.find_first_not_of('/');
  if (start == std::string_view::npos || filename.size() >= PATH_MAX) return denied();
  std::string_view rest = filename.substr(start);
  // Refuse ".." anywhere as a component.
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t end = rest.find('/', pos);
    if (end == std::string_view::npos) end = rest.size();
    if (rest.substr(pos, end - pos) == "..") return denied();
    pos = end + 1;
  }
  return std::string(rest);
}

Task<Result<ReadableFile>> open_for_reading(int root_fd, std::string_view filename,
                                            const FileRules& rules) {
  auto rel = relative_path(filename);
  if (!rel) co_return rel.error();
  auto fd = co_await fs::openat2(root_fd, *rel, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0,
                                 resolve_flags(rules));
  if (!fd) co_return fd.error();
  auto st = co_await fs::statx(fd->get(), "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO);
  if (!st) co_return st.error();
  if (S_ISDIR(st->stx_mode)) co_return std::make_error_code(std::errc::is_a_directory);
  if (!S_ISREG(st->stx_mode)) co_return denied();
  if (!rules.permissive && (st->stx_mode & S_IROTH) == 0) co_return denied();
  co_return ReadableFile{std::move(*fd), st->stx_size,
                         (uint64_t{st->stx_dev_major} << 32) | st->stx_dev_minor, st->stx_ino};
}

std::shared_ptr<const fs::Fd> OpenFiles::share(ReadableFile file) {
  Key key{file.dev, file.ino};
  auto it = open_.find(key);
  if (it != open_.end()) {
    if (auto existing = it->second.lock()) return existing;  // `file.fd` closes here
  }
  auto fd = std::make_shared<const fs::Fd>(std::move(file.fd));
  open_[key] = fd;
  // Forget closed files now and then, so the table stays the size of what is open.
  if (open_.size() > 64 && open_.size() % 64 == 0) {
    for (auto e = open_.begin(); e != open_.end();) {
      e = e->second.expired() ? open_.erase(e) : std::next(e);
    }
  }
  return fd;
}

size_t OpenFiles::open_count() const {
  size_t n = 0;
  for (const auto& [key, fd] : open_) n += fd.expired() ? 0 : 1;
  return n;
}

bool is_upload_temp_name(std::string_view name) {
  const size_t tail = kTempMark.size() + kTempRandom;
  if (name.size() < 1 + 1 + tail || name.size() > 1 + kTempBaseMax + tail) return false;
  if (name.front() != '.') return false;
  if (name.substr(name.size() - tail, kTempMark.size()) != kTempMark) return false;
  std::string_view random = name.substr(name.size() - kTempRandom);
  return random.find_first_not_of(kTempChars) == std::string_view::npos;
}

Task<Result<Upload>> open_for_writing(int root_fd, std::string_view filename,
                                      const FileRules& rules) {
  if (rules.uploads == Uploads::kOff) co_return denied();
  auto rel = relative_path(filename);
  if (!rel) co_return rel.error();
  if (!rules.upload_patterns.empty()) {
    bool allowed = false;
    for (const auto& pattern : rules.upload_patterns) {
      if (::fnmatch(pattern.c_str(), rel->c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
        allowed = true;
        break;
      }
    }
    if (!allowed) co_return denied();
  }
  Upload up;
  size_t slash = rel->rfind('/');
  std::string dir = slash == std::string::npos ? "." : rel->substr(0, slash);
  up.base_ = slash == std::string::npos ? *rel : rel->substr(slash + 1);
  if (up.base_.empty() || up.base_ == ".") co_return denied();
  auto dirfd = co_await fs::openat2(root_fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                    resolve_flags(rules));
  if (!dirfd) co_return dirfd.error();
  up.dir_ = std::move(*dirfd);

  auto existing = co_await fs::statx(up.dir_.get(), up.base_, AT_SYMLINK_NOFOLLOW,
                                     STATX_TYPE | STATX_MODE);
  if (existing) {
    if (rules.uploads == Uploads::kCreate) co_return std::make_error_code(std::errc::file_exists);
    // Replace regular files only: a symlink would be replaced by the upload rather than
    // written through, which is not what its owner meant either way.
    if (!S_ISREG(existing->stx_mode)) co_return denied();
    if (!rules.permissive && (existing->stx_mode & S_IWOTH) == 0) co_return denied();
    up.replaces_ = true;
  } else if (existing.error() != std::errc::no_such_file_or_directory) {
    co_return existing.error();
  }
  up.create_only_ = rules.uploads == Uploads::kCreate;

  mode_t mode = 0666 & ~rules.umask;
  for (int attempt = 0;; ++attempt) {
    up.temp_ = temp_name_for(up.base_);
    auto fd = co_await fs::openat(up.dir_.get(), up.temp_,
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd) {
      up.file_ = std::move(*fd);
      break;
    }
    if (fd.error() != std::errc::file_exists || attempt == 10) co_return fd.error();
  }
  // The process umask must not change the mode the configuration asked for.
  (void)co_await fs::fchmod(up.file_.get(), mode);
  up.done_ = false;
  co_return std::move(up);
}

Upload::~Upload() {
  if (!done_ && dir_) ::unlinkat(dir_.get(), temp_.c_str(), 0);
}

Task<Result<void>> Upload::commit() {
  done_ = true;
  auto r = co_await fs::renameat2(dir_.get(), temp_, dir_.get(), base_,
                                  create_only_ ? RENAME_NOREPLACE : 0);
  if (!r) (void)co_await fs::unlinkat(dir_.get(), temp_, 0);
  co_return r;
}

Task<void> Upload::abort() {
  if (done_) co_return;
  done_ = true;
  (void)co_await fs::unlinkat(dir_.get(), temp_, 0);
}

ClientError client_error(const std::error_code& error) {
  if (error.category() == tftp_category()) {
    ErrorCode code = wire_error(error);
    return {code, std::string(standard_message(code))};
  }
  switch (error.value()) {
    case ENOENT:
    case ENOTDIR:
      return {ErrorCode::kFileNotFound, "File not found"};
    case EEXIST:
      return {ErrorCode::kFileExists, "File already exists"};
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return {ErrorCode::kDiskFull, "Disk full or allocation exceeded"};
    case EISDIR:
      return {ErrorCode::kAccessViolation, "Is a directory"};
    case EACCES:
    case EPERM:
    case ELOOP:   // a symlink where none may be followed
    case EXDEV:   // a path that tried to leave the root
    case ENAMETOOLONG:
      return {ErrorCode::kAccessViolation, "Access violation"};
    default:
      return {ErrorCode::kNotDefined, error.message()};
  }
}

}  // namespace ringkit::tftp
