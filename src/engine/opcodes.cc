#include "ringkit/operation.h"

namespace ringkit::detail {

const char* opcode_name(OpCode code) {
  static constexpr const char* kNames[] = {
      "nop", "timeout", "read", "write", "read_fixed", "write_fixed", "readv", "writev",
      "fsync", "fallocate", "openat", "openat2", "close", "splice",
      "statx", "mkdirat", "unlinkat", "renameat", "linkat", "symlinkat", "fgetxattr", "fsetxattr",
      "ftruncate", "mknodat", "getdents", "fchmod", "fchmodat", "fchown", "fchownat", "futimens",
      "utimensat", "readlinkat", "lgetxattr", "lsetxattr", "llistxattr", "flistxattr",
      "lremovexattr", "fremovexattr", "copy_file_range", "ficlone",
      "recvmsg", "sendmsg", "sendto", "recvmsg_multishot"};
  static_assert(sizeof kNames / sizeof kNames[0] == static_cast<size_t>(OpCode::kCount));
  auto i = static_cast<size_t>(code);
  return i < static_cast<size_t>(OpCode::kCount) ? kNames[i] : "?";
}

OpClass op_class(OpCode code) {
  if (code == OpCode::kTimeout) return OpClass::kTimer;
  if (code >= OpCode::kRecvmsg) return OpClass::kSocket;
  if (code >= OpCode::kFtruncate) return OpClass::kCheap;
  if (code >= OpCode::kStatx) return OpClass::kMetadata;
  return OpClass::kRing;
}

}  // namespace ringkit::detail
