// The file-system operations: each fills an Operation for the engine (see syscall_ops.cc for
// what each field means per opcode).
#include "ringkit/fs.h"

#include <linux/limits.h>
#include <linux/magic.h>
#include <linux/xattr.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace ringkit::fs {
namespace {

// The kernel moves at most MAX_RW_COUNT (INT_MAX rounded down to a page) bytes per read, write
// or splice, and an SQE carries a 32-bit length: a longer span passed on unclamped would wrap
// (4 GiB becomes 0 and reads as EOF). Clamping gives the short count the kernel gives anyway.
constexpr uint64_t kMaxTransfer = 0x7ffff000;
uint64_t transfer_len(size_t len) { return std::min<uint64_t>(len, kMaxTransfer); }
// Xattr values, likewise 32 bits in an SQE: a get never returns more than XATTR_SIZE_MAX, and a
// set of more must still fail with E2BIG rather than wrap into a short value.
uint64_t get_xattr_len(size_t len) { return std::min<uint64_t>(len, XATTR_SIZE_MAX); }
uint64_t set_xattr_len(size_t len) { return std::min<uint64_t>(len, XATTR_SIZE_MAX + 1); }

Operation make(OpCode code, int fd = -1) {
  Operation op;
  op.code = code;
  op.fd = fd;
  return op;
}

Operation make_path(OpCode code, int dirfd, const char* path) {
  Operation op = make(code, dirfd);
  op.path = path;
  return op;
}

Operation make_rw(OpCode code, int fd, const void* buf, size_t len, uint64_t offset) {
  Operation op = make(code, fd);
  op.addr = const_cast<void*>(buf);
  op.len = transfer_len(len);
  op.off = offset;
  return op;
}

// An open that creates a file (and so takes a mode). O_TMPFILE includes the O_DIRECTORY bit,
// so test for all of its bits: a plain O_DIRECTORY open creates nothing.
bool creates(int flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; }

// An open that io_uring always hands to an io-wq worker: one that creates or truncates.
bool worker_bound_open(int flags) { return creates(flags) || (flags & O_TRUNC) != 0; }

Operation make_two_paths(OpCode code, int old_dirfd, const char* old_path, int new_dirfd,
                         const char* new_path, unsigned flags) {
  Operation op = make_path(code, old_dirfd, old_path);
  op.fd2 = new_dirfd;
  op.path2 = new_path;
  op.flags = flags;
  return op;
}

}  // namespace

void Fd::reset(int fd) {
  if (fd_ >= 0) {
    Executor::forget_fd(fd_);
    ::close(fd_);
  }
  fd_ = fd;
}

FdAwaiter openat(int dirfd, CStr path, int flags, mode_t mode) {
  Operation op = make_path(OpCode::kOpenat, dirfd, path.p);
  op.flags = static_cast<uint32_t>(flags | O_CLOEXEC);
  op.mode = mode;
  op.worker_bound = worker_bound_open(flags);
  return FdAwaiter(op);
}

Openat2Awaiter::Openat2Awaiter(int dirfd, const char* path, const open_how& how)
    : FdAwaiter(make_path(OpCode::kOpenat2, dirfd, path)), how_(how) {
  op_.addr = &how_;
  op_.worker_bound = worker_bound_open(static_cast<int>(how.flags));
}

Openat2Awaiter openat2(int dirfd, CStr path, int flags, mode_t mode, uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  // The kernel rejects a mode without O_CREAT/O_TMPFILE.
  how.mode = creates(flags) ? mode : 0;
  how.resolve = resolve;
  return Openat2Awaiter(dirfd, path.p, how);
}

VoidAwaiter close(int fd) {
  Executor::forget_fd(fd);
  return VoidAwaiter(make(OpCode::kClose, fd));
}

CountAwaiter<size_t> read(int fd, std::span<std::byte> buf, uint64_t offset) {
  return CountAwaiter<size_t>(make_rw(OpCode::kRead, fd, buf.data(), buf.size(), offset));
}

CountAwaiter<size_t> write(int fd, std::span<const std::byte> buf, uint64_t offset) {
  return CountAwaiter<size_t>(make_rw(OpCode::kWrite, fd, buf.data(), buf.size(), offset));
}

CountAwaiter<size_t> write_buffered(int fd, std::span<const std::byte> buf, uint64_t offset) {
  Operation op = make_rw(OpCode::kWrite, fd, buf.data(), buf.size(), offset);
  op.worker_bound = true;
  return CountAwaiter<size_t>(op);
}

CountAwaiter<size_t> read_buffered(int fd, std::span<std::byte> buf, uint64_t offset) {
  Operation op = make_rw(OpCode::kRead, fd, buf.data(), buf.size(), offset);
  op.worker_bound = true;
  return CountAwaiter<size_t>(op);
}

bool memory_backed(int fd) {
  struct statfs info {};
  if (::fstatfs(fd, &info) != 0) return false;
  auto type = static_cast<unsigned long>(info.f_type);
  return type == TMPFS_MAGIC || type == RAMFS_MAGIC;
}

CountAwaiter<size_t> read_fixed(int fd, std::span<std::byte> buf, uint64_t offset, int buf_index) {
  Operation op = make_rw(buf_index >= 0 ? OpCode::kReadFixed : OpCode::kRead, fd, buf.data(),
                         buf.size(), offset);
  op.aux = static_cast<uint32_t>(buf_index);
  return CountAwaiter<size_t>(op);
}

CountAwaiter<size_t> write_fixed(int fd, std::span<const std::byte> buf, uint64_t offset,
                                 int buf_index) {
  Operation op = make_rw(buf_index >= 0 ? OpCode::kWriteFixed : OpCode::kWrite, fd, buf.data(),
                         buf.size(), offset);
  op.aux = static_cast<uint32_t>(buf_index);
  return CountAwaiter<size_t>(op);
}

CountAwaiter<size_t> readv(int fd, std::span<const iovec> iov, uint64_t offset) {
  return CountAwaiter<size_t>(make_rw(OpCode::kReadv, fd, iov.data(), iov.size(), offset));
}

CountAwaiter<size_t> writev(int fd, std::span<const iovec> iov, uint64_t offset) {
  return CountAwaiter<size_t>(make_rw(OpCode::kWritev, fd, iov.data(), iov.size(), offset));
}

VoidAwaiter fsync(int fd) { return VoidAwaiter(make(OpCode::kFsync, fd)); }

VoidAwaiter fdatasync(int fd) {
  Operation op = make(OpCode::kFsync, fd);
  op.flags = 1;  // IORING_FSYNC_DATASYNC
  return VoidAwaiter(op);
}

VoidAwaiter fallocate(int fd, int mode, uint64_t offset, uint64_t length) {
  Operation op = make(OpCode::kFallocate, fd);
  op.mode = static_cast<uint32_t>(mode);
  op.off = offset;
  op.len = length;
  return VoidAwaiter(op);
}

VoidAwaiter ftruncate(int fd, uint64_t length) {
  Operation op = make(OpCode::kFtruncate, fd);
  op.len = length;
  return VoidAwaiter(op);
}

CountAwaiter<size_t> copy_file_range(int fd_in, uint64_t off_in, int fd_out, uint64_t off_out,
                                     size_t length, Placement where) {
  Operation op = make(OpCode::kCopyFileRange, fd_in);
  op.fd2 = fd_out;
  op.off = off_in;
  op.off2 = off_out;
  op.len = transfer_len(length);
  op.on_pool = where == Placement::kBlockingPool;
  return CountAwaiter<size_t>(op);
}

VoidAwaiter ficlone(int dst_fd, int src_fd, Placement where) {
  Operation op = make(OpCode::kFiclone, src_fd);
  op.fd2 = dst_fd;
  op.on_pool = where == Placement::kBlockingPool;
  return VoidAwaiter(op);
}

CountAwaiter<size_t> splice(int fd_in, uint64_t off_in, int fd_out, uint64_t off_out, size_t length,
                            unsigned flags) {
  Operation op = make(OpCode::kSplice, fd_in);
  op.fd2 = fd_out;
  op.off = off_in;
  op.off2 = off_out;
  op.len = transfer_len(length);
  op.flags = flags;
  return CountAwaiter<size_t>(op);
}

StatxAwaiter::StatxAwaiter(int dirfd, const char* path, int flags, unsigned mask) {
  // Filled in place: this is the hottest metadata call of a tree walk.
  op_.code = OpCode::kStatx;
  op_.fd = dirfd;
  op_.path = path;
  op_.flags = static_cast<uint32_t>(flags);
  op_.mode = mask;
  op_.addr = &stx_;
}

StatxAwaiter statx(int dirfd, CStr path, int flags, unsigned mask) {
  return StatxAwaiter(dirfd, path.p, flags, mask);
}

VoidAwaiter mkdirat(int dirfd, CStr path, mode_t mode) {
  Operation op = make_path(OpCode::kMkdirat, dirfd, path.p);
  op.mode = mode;
  return VoidAwaiter(op);
}

VoidAwaiter mknodat(int dirfd, CStr path, mode_t mode, dev_t dev) {
  Operation op = make_path(OpCode::kMknodat, dirfd, path.p);
  op.mode = mode;
  op.off = dev;
  return VoidAwaiter(op);
}

VoidAwaiter unlinkat(int dirfd, CStr path, int flags, Placement where) {
  Operation op = make_path(OpCode::kUnlinkat, dirfd, path.p);
  op.flags = static_cast<uint32_t>(flags);
  op.on_pool = where == Placement::kBlockingPool;
  return VoidAwaiter(op);
}

VoidAwaiter renameat2(int old_dirfd, CStr old_path, int new_dirfd, CStr new_path, unsigned flags) {
  return VoidAwaiter(
      make_two_paths(OpCode::kRenameat, old_dirfd, old_path.p, new_dirfd, new_path.p, flags));
}

VoidAwaiter linkat(int old_dirfd, CStr old_path, int new_dirfd, CStr new_path, int flags) {
  return VoidAwaiter(make_two_paths(OpCode::kLinkat, old_dirfd, old_path.p, new_dirfd, new_path.p,
                                    static_cast<unsigned>(flags)));
}

VoidAwaiter symlinkat(CStr target, int new_dirfd, CStr link_path) {
  return VoidAwaiter(make_two_paths(OpCode::kSymlinkat, -1, target.p, new_dirfd, link_path.p, 0));
}

ReadlinkAwaiter::ReadlinkAwaiter(int dirfd, const char* path) {
  op_.code = OpCode::kReadlinkat;
  op_.fd = dirfd;
  op_.path = path;
  op_.addr = target_;
  op_.len = sizeof target_;
}

Result<std::string> ReadlinkAwaiter::await_resume() {
  if (op_.res < 0) return error();
  return std::string(target_, static_cast<size_t>(op_.res));
}

ReadlinkAwaiter readlinkat(int dirfd, CStr path) { return ReadlinkAwaiter(dirfd, path.p); }

VoidAwaiter fchmod(int fd, mode_t mode) {
  Operation op = make(OpCode::kFchmod, fd);
  op.mode = mode;
  return VoidAwaiter(op);
}

VoidAwaiter fchmodat(int dirfd, CStr path, mode_t mode, int flags) {
  Operation op = make_path(OpCode::kFchmodat, dirfd, path.p);
  op.mode = mode;
  op.flags = static_cast<uint32_t>(flags);
  return VoidAwaiter(op);
}

VoidAwaiter fchown(int fd, uid_t uid, gid_t gid) {
  Operation op = make(OpCode::kFchown, fd);
  op.aux = uid;
  op.aux2 = gid;
  return VoidAwaiter(op);
}

VoidAwaiter fchownat(int dirfd, CStr path, uid_t uid, gid_t gid, int flags) {
  Operation op = make_path(OpCode::kFchownat, dirfd, path.p);
  op.aux = uid;
  op.aux2 = gid;
  op.flags = static_cast<uint32_t>(flags);
  return VoidAwaiter(op);
}

TimesAwaiter::TimesAwaiter(const Operation& op, const timespec times[2]) : VoidAwaiter(op) {
  if (times != nullptr) {
    times_[0] = times[0];
    times_[1] = times[1];
    op_.addr = times_;
  } else {
    op_.addr = nullptr;  // both "now"
  }
}

TimesAwaiter futimens(int fd, const timespec times[2]) {
  return TimesAwaiter(make(OpCode::kFutimens, fd), times);
}

TimesAwaiter utimensat(int dirfd, CStr path, const timespec times[2], int flags) {
  Operation op = make_path(OpCode::kUtimensat, dirfd, path.p);
  op.flags = static_cast<uint32_t>(flags);
  return TimesAwaiter(op, times);
}

CountAwaiter<size_t> fgetxattr(int fd, CStr name, std::span<std::byte> value) {
  Operation op = make_path(OpCode::kFgetxattr, fd, name.p);
  op.addr = value.data();
  op.len = get_xattr_len(value.size());
  return CountAwaiter<size_t>(op);
}

CountAwaiter<size_t> lgetxattr(CStr path, CStr name, std::span<std::byte> value) {
  Operation op = make_path(OpCode::kLgetxattr, AT_FDCWD, path.p);
  op.path2 = name.p;
  op.addr = value.data();
  op.len = get_xattr_len(value.size());
  return CountAwaiter<size_t>(op);
}

VoidAwaiter fsetxattr(int fd, CStr name, std::span<const std::byte> value, int flags) {
  Operation op = make_path(OpCode::kFsetxattr, fd, name.p);
  op.addr = const_cast<std::byte*>(value.data());
  op.len = set_xattr_len(value.size());
  op.flags = static_cast<uint32_t>(flags);
  return VoidAwaiter(op);
}

VoidAwaiter lsetxattr(CStr path, CStr name, std::span<const std::byte> value, int flags) {
  Operation op = make_path(OpCode::kLsetxattr, AT_FDCWD, path.p);
  op.path2 = name.p;
  op.addr = const_cast<std::byte*>(value.data());
  op.len = set_xattr_len(value.size());
  op.flags = static_cast<uint32_t>(flags);
  return VoidAwaiter(op);
}

CountAwaiter<size_t> flistxattr(int fd, std::span<char> list) {
  return CountAwaiter<size_t>(make_rw(OpCode::kFlistxattr, fd, list.data(), list.size(), 0));
}

CountAwaiter<size_t> llistxattr(CStr path, std::span<char> list) {
  Operation op = make_path(OpCode::kLlistxattr, AT_FDCWD, path.p);
  op.addr = list.data();
  op.len = list.size();
  return CountAwaiter<size_t>(op);
}

VoidAwaiter fremovexattr(int fd, CStr name) {
  return VoidAwaiter(make_path(OpCode::kFremovexattr, fd, name.p));
}

VoidAwaiter lremovexattr(CStr path, CStr name) {
  Operation op = make_path(OpCode::kLremovexattr, AT_FDCWD, path.p);
  op.path2 = name.p;
  return VoidAwaiter(op);
}

CountAwaiter<size_t> getdents(int dirfd, std::span<std::byte> buf) {
  return CountAwaiter<size_t>(make_rw(OpCode::kGetdents, dirfd, buf.data(), buf.size(), 0));
}

// linux_dirent64: u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[].
DirEntry DirEntries::iterator::operator*() const {
  const std::byte* rec = data_.data() + pos_;
  DirEntry e{};
  std::memcpy(&e.inode, rec, sizeof e.inode);
  e.type = static_cast<unsigned char>(rec[18]);
  const char* name = reinterpret_cast<const char*>(rec + 19);
  e.name = std::string_view(name, std::strlen(name));
  return e;
}

void DirEntries::iterator::advance() {
  uint16_t reclen;
  std::memcpy(&reclen, data_.data() + pos_ + 16, sizeof reclen);
  pos_ = reclen == 0 ? data_.size() : std::min(data_.size(), pos_ + reclen);
}

void DirEntries::iterator::skip_dots() {
  while (pos_ < data_.size()) {
    const char* name = reinterpret_cast<const char*>(data_.data() + pos_ + 19);
    bool dot = name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
    if (!dot) return;
    advance();
  }
}

}  // namespace ringkit::fs
