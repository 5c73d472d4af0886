// File-system operations of the engine, as awaitables.
//
// Each function builds a request and returns an awaitable; `co_await` it on an executor thread
// to get a Result. Where the operation runs (ring, executor thread, blocking pool) is the
// engine's decision (EngineSettings::cheap_calls and metadata_ops); the result is the same.
//
// Lifetimes: every buffer, path and iovec passed in must stay valid until the co_await returns.
// Passing a temporary std::string is fine: it lives until the end of the co_await expression.
// Paths are byte strings: any bytes but NUL, of any length the kernel accepts.
// Offsets: kCurrentPosition reads or writes at the file position (and moves it). On a file
// without positions (pipe, socket) read/write/readv/writev ignore the offset, on every backend
// (as io_uring does); splice alone insists on kCurrentPosition there (ESPIPE otherwise).
// Lengths: one call moves at most 0x7ffff000 bytes (the kernel's limit); longer spans give a
// short count, never a wrapped length.
#pragma once

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ringkit/awaitable.h"

struct iovec;

namespace ringkit::fs {

using detail::CountAwaiter;
using detail::OpCode;
using detail::Operation;
using detail::VoidAwaiter;

inline constexpr uint64_t kCurrentPosition = ~uint64_t{0};

// A NUL-terminated path argument: a C string or a std::string (not a string_view).
struct CStr {
  CStr(const char* s) : p(s) {}                // NOLINT: implicit by design
  CStr(const std::string& s) : p(s.c_str()) {}  // NOLINT
  const char* p;
};

// An owned file descriptor. Closes (synchronously) when destroyed; `co_await fs::close(fd.release())`
// closes through the engine instead. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

class FdAwaiter : public detail::OpAwaiterBase {
 public:
  explicit FdAwaiter(const Operation& op) { op_ = op; }
  Result<Fd> await_resume() {
    if (op_.res < 0) return error();
    return Fd(static_cast<int>(op_.res));
  }
};

// ---- Opening and closing ----

// An open that creates or truncates (O_CREAT, O_TMPFILE, O_TRUNC) is placed as the metadata calls
// are (a direct call by default): io_uring hands every such open to an io-wq worker.
FdAwaiter openat(int dirfd, CStr path, int flags, mode_t mode = 0);

// openat2(2): `resolve` is a mask of RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS,
// RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV. Confines a path to `dirfd`'s tree.
class Openat2Awaiter : public FdAwaiter {
 public:
  Openat2Awaiter(int dirfd, const char* path, const open_how& how);

 private:
  open_how how_;
};
Openat2Awaiter openat2(int dirfd, CStr path, int flags, mode_t mode, uint64_t resolve);

// Closes `fd` (which the caller no longer owns).
VoidAwaiter close(int fd);

// ---- Data ----

CountAwaiter<size_t> read(int fd, std::span<std::byte> buf, uint64_t offset);
CountAwaiter<size_t> write(int fd, std::span<const std::byte> buf, uint64_t offset);
// A small buffered write, placed as the metadata calls are (EngineSettings::metadata_ops: a
// direct call by default) rather than sent to the ring. tmpfs and ext4 take no nonblocking
// buffered writes, so io_uring hands every write to them to an io-wq worker, whose wake-up and
// hand-off cost more than writing a few KiB into the page cache. Large writes belong on the
// ring (or in copy_file_range): a direct call would hold the executor thread for their length.
CountAwaiter<size_t> write_buffered(int fd, std::span<const std::byte> buf, uint64_t offset);
// A small read, placed as write_buffered is. For a file system that keeps its files in memory
// (memory_backed below): io_uring hands every read of tmpfs to an io-wq worker (it takes no
// nonblocking reads), and reading a few KiB from memory costs less than that hand-off. Elsewhere
// use read(): a direct call would wait for the device on the executor thread.
CountAwaiter<size_t> read_buffered(int fd, std::span<std::byte> buf, uint64_t offset);
// With a registered buffer: `buf` must lie inside the buffer registered at `buf_index`
// (BufferPool leases give both). Falls back to plain read/write when nothing is registered.
CountAwaiter<size_t> read_fixed(int fd, std::span<std::byte> buf, uint64_t offset, int buf_index);
CountAwaiter<size_t> write_fixed(int fd, std::span<const std::byte> buf, uint64_t offset,
                                 int buf_index);
CountAwaiter<size_t> readv(int fd, std::span<const iovec> iov, uint64_t offset);
CountAwaiter<size_t> writev(int fd, std::span<const iovec> iov, uint64_t offset);

VoidAwaiter fsync(int fd);
VoidAwaiter fdatasync(int fd);
VoidAwaiter fallocate(int fd, int mode, uint64_t offset, uint64_t length);
VoidAwaiter ftruncate(int fd, uint64_t length);

// Whether `fd`'s file system keeps its files in memory (tmpfs, ramfs): reading one never waits
// for a device. One fstatfs(2), made here on the calling thread; false if it fails.
bool memory_backed(int fd);

// Where a call without an io_uring opcode runs. kPolicy: as EngineSettings::cheap_calls says
// (inline on the executor thread by default). kBlockingPool: always on the blocking pool, for a
// call that may take long (copying many megabytes) and must not stall the executor thread;
// several such calls run at once, one per pool thread.
enum class Placement : uint8_t { kPolicy, kBlockingPool };

// Kernel-side copies. Offsets are explicit; kCurrentPosition uses (and moves) the file position,
// which splice needs for pipes.
// copy_file_range(2) may copy less than asked (a short count is not an error; 0 at the end of
// the source). EXDEV: the two files are on file systems it cannot copy between; EOPNOTSUPP or
// EINVAL: a file system that does not support it. Callers fall back to read/write then.
CountAwaiter<size_t> copy_file_range(int fd_in, uint64_t off_in, int fd_out, uint64_t off_out,
                                     size_t length, Placement where = Placement::kPolicy);
// Makes `dst_fd` share `src_fd`'s extents (reflink). EOPNOTSUPP/EXDEV/EINVAL where the file
// system cannot.
VoidAwaiter ficlone(int dst_fd, int src_fd, Placement where = Placement::kPolicy);
CountAwaiter<size_t> splice(int fd_in, uint64_t off_in, int fd_out, uint64_t off_out, size_t length,
                            unsigned flags = 0);

// ---- Metadata ----

class StatxAwaiter : public detail::OpAwaiterBase {
 public:
  StatxAwaiter(int dirfd, const char* path, int flags, unsigned mask);
  Result<struct statx> await_resume() {
    if (op_.res < 0) return error();
    return stx_;
  }

 private:
  // Not zero-filled: the kernel writes it, and it is read only on success (the fill showed
  // up as ~5% of an inline fstat in bench/cheap_calls_bench).
  struct statx stx_;
};
// statx(2). For a descriptor itself: statx(fd, "", AT_EMPTY_PATH, mask).
StatxAwaiter statx(int dirfd, CStr path, int flags, unsigned mask = STATX_BASIC_STATS);

VoidAwaiter mkdirat(int dirfd, CStr path, mode_t mode);
VoidAwaiter mknodat(int dirfd, CStr path, mode_t mode, dev_t dev);
inline VoidAwaiter mkfifoat(int dirfd, CStr path, mode_t mode) {
  return mknodat(dirfd, path, S_IFIFO | (mode & 07777), 0);
}
// (kBlockingPool: an unlink that may wait for the device, as ext4's discard of the blocks.)
VoidAwaiter unlinkat(int dirfd, CStr path, int flags, Placement where = Placement::kPolicy);
// renameat2(2); flags: RENAME_NOREPLACE, RENAME_EXCHANGE.
VoidAwaiter renameat2(int old_dirfd, CStr old_path, int new_dirfd, CStr new_path,
                      unsigned flags = 0);
VoidAwaiter linkat(int old_dirfd, CStr old_path, int new_dirfd, CStr new_path, int flags = 0);
VoidAwaiter symlinkat(CStr target, int new_dirfd, CStr link_path);

class ReadlinkAwaiter : public detail::OpAwaiterBase {
 public:
  ReadlinkAwaiter(int dirfd, const char* path);
  Result<std::string> await_resume();

 private:
  char target_[PATH_MAX];  // filled by the kernel; no allocation until the result is known
};
// The target of a symbolic link, exactly as stored (any bytes, up to PATH_MAX).
ReadlinkAwaiter readlinkat(int dirfd, CStr path);

VoidAwaiter fchmod(int fd, mode_t mode);
// flags may hold AT_SYMLINK_NOFOLLOW (uses fchmodat2 where the kernel has it).
VoidAwaiter fchmodat(int dirfd, CStr path, mode_t mode, int flags = 0);
VoidAwaiter fchown(int fd, uid_t uid, gid_t gid);
VoidAwaiter fchownat(int dirfd, CStr path, uid_t uid, gid_t gid, int flags = 0);

class TimesAwaiter : public VoidAwaiter {
 public:
  TimesAwaiter(const Operation& op, const timespec times[2]);

 private:
  timespec times_[2];
};
// times[0] = access, times[1] = modification; UTIME_NOW and UTIME_OMIT work.
TimesAwaiter futimens(int fd, const timespec times[2]);
TimesAwaiter utimensat(int dirfd, CStr path, const timespec times[2], int flags = 0);

// ---- Extended attributes (they also carry POSIX ACLs: system.posix_acl_access/default) ----
// Reads return the value's size; a zero-length buffer asks only for the size.
CountAwaiter<size_t> fgetxattr(int fd, CStr name, std::span<std::byte> value);
CountAwaiter<size_t> lgetxattr(CStr path, CStr name, std::span<std::byte> value);
// flags: XATTR_CREATE, XATTR_REPLACE or 0.
VoidAwaiter fsetxattr(int fd, CStr name, std::span<const std::byte> value, int flags = 0);
VoidAwaiter lsetxattr(CStr path, CStr name, std::span<const std::byte> value, int flags = 0);
// The NUL-separated list of names; returns its size.
CountAwaiter<size_t> flistxattr(int fd, std::span<char> list);
CountAwaiter<size_t> llistxattr(CStr path, std::span<char> list);
VoidAwaiter fremovexattr(int fd, CStr name);
VoidAwaiter lremovexattr(CStr path, CStr name);

// ---- Directories ----

// getdents64(2) into `buf`; returns the bytes filled, 0 at the end. Parse with DirEntries.
CountAwaiter<size_t> getdents(int dirfd, std::span<std::byte> buf);

struct DirEntry {
  uint64_t inode;
  unsigned char type;  // DT_REG, DT_DIR, ... or DT_UNKNOWN
  std::string_view name;
};

// Iterates the entries of one getdents buffer, skipping "." and "..".
class DirEntries {
 public:
  DirEntries(std::span<const std::byte> filled) : data_(filled) {}
  class iterator {
   public:
    iterator(std::span<const std::byte> data, size_t pos) : data_(data), pos_(pos) { skip_dots(); }
    DirEntry operator*() const;
    iterator& operator++() {
      advance();
      skip_dots();
      return *this;
    }
    bool operator==(const iterator& other) const { return pos_ == other.pos_; }

   private:
    void advance();
    void skip_dots();
    std::span<const std::byte> data_;
    size_t pos_;
  };
  iterator begin() const { return {data_, 0}; }
  iterator end() const { return {data_, data_.size()}; }

 private:
  std::span<const std::byte> data_;
};

}  // namespace ringkit::fs
