#include "local_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

namespace ringtftp {

using namespace ringkit;

namespace {

std::string random_suffix() {
  static constexpr char kChars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s(6, 'x');
  for (char& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

bool is_errno(const std::error_code& e, int err) { return e == std::error_code(err, std::system_category()); }

}  // namespace

Task<Result<void>> DownloadTarget::open(std::string path) {
  path_ = std::move(path);
  auto slash = path_.rfind('/');
  dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  base_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  if (base_.empty()) co_return errno_error(EISDIR);

  auto st = co_await fs::statx(AT_FDCWD, path_, 0, STATX_TYPE | STATX_MODE);
  if (st) {
    if (S_ISDIR(st->stx_mode)) co_return errno_error(EISDIR);
    replacing_ = true;
    old_mode_ = st->stx_mode & 07777;
  } else if (!is_errno(st.error(), ENOENT)) {
    co_return st.error();
  }

  auto unnamed = co_await fs::openat(AT_FDCWD, dir_, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
  if (unnamed) {
    file_ = std::move(*unnamed);
    unnamed_ = true;
    co_return Result<void>{};
  }
  // Not every file system has O_TMPFILE (EOPNOTSUPP, or EISDIR from kernels that do not know
  // the flag): a named temp file then, removed again if the download fails.
  if (!is_errno(unnamed.error(), EOPNOTSUPP) && !is_errno(unnamed.error(), EISDIR)) {
    co_return unnamed.error();
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path_ = dir_ + "/." + base_ + "." + random_suffix();
    auto named = co_await fs::openat(AT_FDCWD, temp_path_,
                                     O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
    if (named) {
      file_ = std::move(*named);
      co_return Result<void>{};
    }
    if (!is_errno(named.error(), EEXIST)) {
      temp_path_.clear();
      co_return named.error();
    }
  }
  temp_path_.clear();
  co_return errno_error(EEXIST);
}

Task<Result<void>> DownloadTarget::link_to_temp_name() {
  std::string proc = "/proc/self/fd/" + std::to_string(file_.get());
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string candidate = dir_ + "/." + base_ + "." + random_suffix();
    auto linked = co_await fs::linkat(AT_FDCWD, proc, AT_FDCWD, candidate, AT_SYMLINK_FOLLOW);
    if (linked) {
      temp_path_ = candidate;
      unnamed_ = false;
      co_return Result<void>{};
    }
    if (!is_errno(linked.error(), EEXIST)) co_return linked.error();
  }
  co_return errno_error(EEXIST);
}

Task<Result<void>> DownloadTarget::commit() {
  if (replacing_) {
    auto chmod = co_await fs::fchmod(file_.get(), old_mode_);
    if (!chmod) co_return chmod.error();
  }
  if (unnamed_ && !replacing_) {
    std::string proc = "/proc/self/fd/" + std::to_string(file_.get());
    auto linked = co_await fs::linkat(AT_FDCWD, proc, AT_FDCWD, path_, AT_SYMLINK_FOLLOW);
    if (linked) {
      unnamed_ = false;
      co_return co_await fs::close(file_.release());
    }
    // Someone created LOCAL meanwhile: replace it, as if it had been there.
    if (!is_errno(linked.error(), EEXIST)) co_return linked.error();
  }
  if (unnamed_) {
    auto named = co_await link_to_temp_name();
    if (!named) co_return named;
  }
  auto renamed = co_await fs::renameat2(AT_FDCWD, temp_path_, AT_FDCWD, path_);
  if (!renamed) co_return renamed;
  temp_path_.clear();
  co_return co_await fs::close(file_.release());
}

Task<void> DownloadTarget::abandon() {
  if (file_) (void)co_await fs::close(file_.release());
  if (!temp_path_.empty()) {
    (void)co_await fs::unlinkat(AT_FDCWD, temp_path_, 0);
    temp_path_.clear();
  }
}

}  // namespace ringtftp
