// HardLinkTable: the -H bookkeeping, i.e. which source files are one inode and how far the
// syncer has got with each such group.
//
// rsync's rules, which this table lets the syncer follow (verified against rsync 3.5.0 -aHi):
//  - A group is the set of non-directories of the transfer's file list that share a source inode.
//    Members are met in file-list order (the order ringsync prints).
//  - A regular file whose destination is missing waits ("deferred"), unless it is the last
//    member of the group; the last one is copied and becomes the group's leader. (Symlinks,
//    devices and special files do not wait: the first one met leads.)
//  - A member whose destination exists is handled as a plain file (quick check, copy if
//    needed) and becomes the leader at once.
//  - When a leader is done, the waiting members are linked to it, newest first; members met
//    after that are linked to it where they stand (an existing destination on another inode is
//    replaced, one already on the leader's inode is left alone).
//  - A member skipped by --ignore-existing/--existing/-u does not count; if it was the last,
//    the latest waiting member is copied in its stead.
// The group sizes come from a pass over the source before the transfer (rsync knows them from
// its file list). Only files with more than one link are held: memory follows the number of
// hard-linked files, not the tree. Thread affinity: the executor thread that runs the sync.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sync/file_stat.h"

namespace ringkit::sync {

struct InodeKey {
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t ino = 0;
  bool operator==(const InodeKey&) const = default;
};

struct InodeKeyHash {
  size_t operator()(const InodeKey& k) const {
    return std::hash<uint64_t>()(k.ino * 31 + (uint64_t{k.dev_major} << 20 | k.dev_minor));
  }
};

InodeKey inode_key(const FileStat& st);

// Whether -H treats the item as a possible member of a group (any non-directory with more
// than one link).
bool may_be_hard_linked(const FileStat& st);

struct HardLinkGroup {
  uint32_t total = 0;  // members in the file list
  uint32_t seen = 0;   // members the syncer has come to so far
  bool done = false;   // a leader is in place
  std::string leader;  // its path below the transfer root, once done
  uint64_t leader_ino = 0;  // its destination inode (0: none, in a dry run)
  uint32_t leader_dev_major = 0, leader_dev_minor = 0;
  std::vector<std::string> deferred;  // members waiting for the leader, in file-list order

  bool at_last() const { return seen >= total; }
};

class HardLinkTable {
 public:
  // The pre-pass: one more member of the group of `st`.
  void count(const FileStat& st);
  // The group of `st` (by its inode) when the pre-pass counted more than one member, else
  // nullptr. Pointers stay valid
  // until forget() of that group.
  HardLinkGroup* find(const FileStat& st);
  // Drops a group whose members have all been met and that has nothing waiting.
  void forget_if_complete(const FileStat& st);
  bool empty() const { return groups_.empty(); }

 private:
  std::unordered_map<InodeKey, HardLinkGroup, InodeKeyHash> groups_;
};

}  // namespace ringkit::sync
