// ItemizeLine: rsync's 11-character change summary (`%i`, `-i`), e.g. ">f.st......".
//
// The planner decides what changed about an item (an ItemChange); this unit only spells it the
// way rsync does, so that `ringsync -i` output can be compared with rsync's line for line.
// Pure functions; thread-safe.
#pragma once

#include <sys/stat.h>

#include <string>

namespace ringkit::sync {

struct ItemChange {
  enum class Update : char {
    kTransfer = '>',     // content written (a local copy "receives" the file)
    kLocalChange = 'c',  // created or changed locally: directories, symlinks, devices, specials
    kHardLink = 'h',     // made a hard link to another item (-H)
    kNoUpdate = '.',     // content unchanged; attributes may change
  };
  enum class Type : char { kFile = 'f', kDir = 'd', kSymlink = 'L', kDevice = 'D', kSpecial = 'S' };
  // How -i names the kind of an item of `mode`.
  static Type type_of(mode_t mode) {
    if (S_ISREG(mode)) return Type::kFile;
    if (S_ISDIR(mode)) return Type::kDir;
    if (S_ISLNK(mode)) return Type::kSymlink;
    if (S_ISCHR(mode) || S_ISBLK(mode)) return Type::kDevice;
    return Type::kSpecial;
  }

  Update update = Update::kNoUpdate;
  Type type = Type::kFile;
  bool is_new = false;        // the item did not exist: every attribute column is '+'
  bool changed = false;       // c: checksum differs (-c), or a symlink/device/special's value
  bool size = false;          // s: a regular file's size
  bool time = false;          // t/T: modification time being set
  bool time_is_now = false;   // T instead of t: set to the transfer time (no --times)
  bool perms = false;         // p
  bool owner = false;         // o
  bool group = false;         // g
  bool atime = false;         // u
  bool acl = false;           // a
  bool xattr = false;         // x
};

// The 11 characters of `%i` for `change`.
std::string itemize(const ItemChange& change);

// The line `-i` prints for an item: "%i %n%L", i.e. the summary, a space, the path (with a
// trailing '/' for directories) and " -> target" for symlinks or " => target" for hard links.
std::string itemize_line(const ItemChange& change, const std::string& path,
                         const std::string& link_target = {});

// What `-i` prints for a deletion: "*deleting   path".
std::string deleting_line(const std::string& path, bool is_dir);

}  // namespace ringkit::sync
