// execute_blocking(): the direct system call for every OpCode. This is the one place that
// defines what an Operation's fields mean for each opcode; uring_backend.cc's prepare_sqe()
// must agree with it, and the engine tests run every operation through both.
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "ringkit/operation.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

namespace ringkit::detail {
namespace {

int64_t check(int64_t rc) { return rc < 0 ? -errno : rc; }

// ssize_t-returning calls: -1 sets errno.
template <class F>
int64_t call(F&& f) {
  int64_t rc;
  do {
    rc = f();
  } while (rc < 0 && errno == EINTR);
  return check(rc);
}

off_t file_offset(uint64_t off) { return static_cast<off_t>(off); }
bool at_position(uint64_t off) { return off == ~uint64_t{0}; }

// Data transfer at `op.off`, or at the file position for kCurrentPosition. A file without
// positions (pipe, socket) makes pread say ESPIPE, while io_uring ignores the offset of such a
// file; both backends must give one answer, so we retry at the position, as the ring does.
template <class Positioned, class Streamed>
int64_t transfer(const Operation& op, Positioned positioned, Streamed streamed) {
  if (at_position(op.off)) return call(streamed);
  int64_t rc = call(positioned);
  return rc == -ESPIPE ? call(streamed) : rc;
}

int64_t do_fchmodat(const Operation& op) {
  if (op.flags == 0) return check(::fchmodat(op.fd, op.path, op.mode, 0));
  long rc = ::syscall(SYS_fchmodat2, op.fd, op.path, op.mode, op.flags);
  if (rc == 0) return 0;
  if (errno != ENOSYS) return -errno;
  return check(::fchmodat(op.fd, op.path, op.mode, static_cast<int>(op.flags)));
}

int64_t do_sleep(const Operation& op) {
  timespec ts{static_cast<time_t>(op.timeout.count() / 1'000'000'000),
              static_cast<long>(op.timeout.count() % 1'000'000'000)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
  return -ETIME;  // as io_uring reports an expired timeout
}

}  // namespace

int64_t execute_blocking(Operation& op) {
  switch (op.code) {
    case OpCode::kNop: return 0;
    case OpCode::kTimeout: return do_sleep(op);
    case OpCode::kRead:
    case OpCode::kReadFixed:
      return transfer(op, [&] { return ::pread(op.fd, op.addr, op.len, file_offset(op.off)); },
                      [&] { return ::read(op.fd, op.addr, op.len); });
    case OpCode::kWrite:
    case OpCode::kWriteFixed:
      return transfer(op, [&] { return ::pwrite(op.fd, op.addr, op.len, file_offset(op.off)); },
                      [&] { return ::write(op.fd, op.addr, op.len); });
    case OpCode::kReadv: {
      auto* iov = static_cast<const iovec*>(op.addr);
      int n = static_cast<int>(op.len);
      return transfer(op, [&] { return ::preadv(op.fd, iov, n, file_offset(op.off)); },
                      [&] { return ::readv(op.fd, iov, n); });
    }
    case OpCode::kWritev: {
      auto* iov = static_cast<const iovec*>(op.addr);
      int n = static_cast<int>(op.len);
      return transfer(op, [&] { return ::pwritev(op.fd, iov, n, file_offset(op.off)); },
                      [&] { return ::writev(op.fd, iov, n); });
    }
    case OpCode::kFsync:
      return call([&] { return (op.flags & 1u) ? ::fdatasync(op.fd) : ::fsync(op.fd); });
    case OpCode::kFallocate:
      return call([&] {
        return ::fallocate(op.fd, static_cast<int>(op.mode), file_offset(op.off), file_offset(op.len));
      });
    case OpCode::kFtruncate: return call([&] { return ::ftruncate(op.fd, file_offset(op.len)); });
    case OpCode::kOpenat:
      return call([&] { return ::openat(op.fd, op.path, static_cast<int>(op.flags), op.mode); });
    case OpCode::kOpenat2:
      return call([&] { return ::syscall(SYS_openat2, op.fd, op.path, op.addr, sizeof(open_how)); });
    case OpCode::kClose: return check(::close(op.fd));  // never retried: the fd is gone
    case OpCode::kSplice:
      return call([&] {
        loff_t in = static_cast<loff_t>(op.off), out = static_cast<loff_t>(op.off2);
        return ::splice(op.fd, at_position(op.off) ? nullptr : &in, op.fd2,
                        at_position(op.off2) ? nullptr : &out, op.len, op.flags);
      });
    case OpCode::kStatx:
      return call([&] {
        return ::statx(op.fd, op.path, static_cast<int>(op.flags), op.mode,
                       static_cast<struct statx*>(op.addr));
      });
    case OpCode::kMkdirat: return call([&] { return ::mkdirat(op.fd, op.path, op.mode); });
    case OpCode::kMknodat:
      return call([&] { return ::mknodat(op.fd, op.path, op.mode, static_cast<dev_t>(op.off)); });
    case OpCode::kUnlinkat:
      return call([&] { return ::unlinkat(op.fd, op.path, static_cast<int>(op.flags)); });
    case OpCode::kRenameat:
      return call([&] { return ::renameat2(op.fd, op.path, op.fd2, op.path2, op.flags); });
    case OpCode::kLinkat:
      return call([&] { return ::linkat(op.fd, op.path, op.fd2, op.path2, static_cast<int>(op.flags)); });
    case OpCode::kSymlinkat: return call([&] { return ::symlinkat(op.path, op.fd2, op.path2); });
    case OpCode::kReadlinkat:
      return call([&] { return ::readlinkat(op.fd, op.path, static_cast<char*>(op.addr), op.len); });
    case OpCode::kGetdents:
      return call([&] { return ::syscall(SYS_getdents64, op.fd, op.addr, op.len); });
    case OpCode::kFchmod: return call([&] { return ::fchmod(op.fd, op.mode); });
    case OpCode::kFchmodat: return do_fchmodat(op);
    case OpCode::kFchown: return call([&] { return ::fchown(op.fd, op.aux, op.aux2); });
    case OpCode::kFchownat:
      return call([&] { return ::fchownat(op.fd, op.path, op.aux, op.aux2, static_cast<int>(op.flags)); });
    case OpCode::kFutimens:
      return call([&] { return ::futimens(op.fd, static_cast<const timespec*>(op.addr)); });
    case OpCode::kUtimensat:
      return call([&] {
        return ::utimensat(op.fd, op.path, static_cast<const timespec*>(op.addr), static_cast<int>(op.flags));
      });
    case OpCode::kFgetxattr:
      return call([&] { return ::fgetxattr(op.fd, op.path, op.addr, op.len); });
    case OpCode::kLgetxattr:
      return call([&] { return ::lgetxattr(op.path, op.path2, op.addr, op.len); });
    case OpCode::kFsetxattr:
      return call([&] { return ::fsetxattr(op.fd, op.path, op.addr, op.len, static_cast<int>(op.flags)); });
    case OpCode::kLsetxattr:
      return call([&] {
        return ::lsetxattr(op.path, op.path2, op.addr, op.len, static_cast<int>(op.flags));
      });
    case OpCode::kFlistxattr:
      return call([&] { return ::flistxattr(op.fd, static_cast<char*>(op.addr), op.len); });
    case OpCode::kLlistxattr:
      return call([&] { return ::llistxattr(op.path, static_cast<char*>(op.addr), op.len); });
    case OpCode::kFremovexattr: return call([&] { return ::fremovexattr(op.fd, op.path); });
    case OpCode::kLremovexattr: return call([&] { return ::lremovexattr(op.path, op.path2); });
    case OpCode::kCopyFileRange:
      return call([&] {
        loff_t in = static_cast<loff_t>(op.off), out = static_cast<loff_t>(op.off2);
        return ::copy_file_range(op.fd, at_position(op.off) ? nullptr : &in, op.fd2,
                                 at_position(op.off2) ? nullptr : &out, op.len, op.flags);
      });
    case OpCode::kFiclone: return call([&] { return ::ioctl(op.fd2, FICLONE, op.fd); });
    case OpCode::kRecvmsg:
      return call([&] { return ::recvmsg(op.fd, static_cast<msghdr*>(op.addr), static_cast<int>(op.flags)); });
    case OpCode::kSendmsg:
      return call([&] {
        return ::sendmsg(op.fd, static_cast<const msghdr*>(op.addr), static_cast<int>(op.flags) | MSG_NOSIGNAL);
      });
    case OpCode::kSendto:
      return call([&] {
        return ::sendto(op.fd, op.addr, op.len, static_cast<int>(op.flags) | MSG_NOSIGNAL,
                        static_cast<const sockaddr*>(op.addr2), static_cast<socklen_t>(op.aux));
      });
    case OpCode::kRecvmsgMultishot:
    case OpCode::kCount:
      break;
  }
  return -EOPNOTSUPP;
}

}  // namespace ringkit::detail
