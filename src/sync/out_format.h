// OutFormat: rsync's --out-format / --log-file-format strings (the "log format" escapes of
// rsyncd.conf), parsed once and rendered for each item.
//
// An escape is '%', optional apostrophes (human-readable numbers: ' commas, '' 1000-based
// units, ''' 1024-based units), an optional '-' (left-justify), an optional width, optional
// apostrophes again, and one letter. What rsync 3.5.0 prints for a local copy, verified with it:
//   %n name (dirs with a trailing '/')   %f name as the sender has it (SRC's path joined, no
//   leading '/')   %L " -> target" / " => leader" / ""   %i the 11-character itemize string
//   ("*deleting  " for a deletion)   %o "send" or "del."   %l length   %b bytes the sender
//   wrote for it   %c bytes it read   %C the whole-file checksum (XXH3-128, hex; spaces when
//   unknown; zeros for a dry-run transfer)   %M modification time   %U uid   %G gid (or
//   "DEFAULT" without -g)   %B permission bits (rwxr-xr-x)   %p process id   %t now
//   %m "" (no daemon module)   %% a '%'.
// Escapes rsync only fills in for a daemon (%a %h %P %u), unknown letters and a dangling '%'
// stay in the output as written, as rsync leaves them.
// A plain value type; thread-compatible.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sync/itemize.h"

namespace ringkit::sync {

// Everything an escape can name about one item.
struct LogItem {
  bool deleted = false;          // a "*deleting" record: only the name and the type are known
  ItemChange change;             // %i (when not deleted)
  std::string name;              // %n without the trailing '/': the path below the transfer root
  std::string sender_path;       // %f: SRC's path and the name, cleaned (rsync's F_PATHNAME)
  std::string symlink_target;    // %L " -> ..."
  std::string hardlink_target;   // %L " => ..." (wins over a symlink target)
  mode_t mode = 0;               // type and permission bits
  uint64_t length = 0;           // %l
  int64_t mtime = 0;             // %M, seconds
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool gid_known = false;        // %G prints "DEFAULT" without -g
  uint64_t bytes_written = 0;    // %b
  uint64_t bytes_read = 0;       // %c
  enum class Checksum { kUnknown, kZero, kKnown } checksum_state = Checksum::kUnknown;
  std::array<unsigned char, 16> checksum{};  // %C when kKnown
};

class OutFormat {
 public:
  explicit OutFormat(std::string format);

  // The line for `item`, without a newline. `op` is "send" or "del.".
  std::string render(const LogItem& item, const char* op) const;

  // Whether the format uses the escape `letter` (e.g. 'i', 'b').
  bool has(char letter) const;
  // rsync logs after the transfer when the line needs what the transfer counts (%b %c %C).
  bool needs_transfer_stats() const { return has('b') || has('c') || has('C'); }
  const std::string& text() const { return text_; }

 private:
  struct Piece {
    std::string literal;   // text as written (also an escape left as is)
    char letter = 0;       // 0: literal
    bool left = false;
    int width = 0;
    int human = 0;         // apostrophes, at most 3
  };
  std::string text_;
  std::vector<Piece> pieces_;
};

// A number as rsync's human_num prints it: level 0 plain digits, 1 with thousands commas,
// 2 "1.23K" (1000-based), 3 "1.20K" (1024-based).
std::string human_number(uint64_t n, int level);

// A rate as rsync's human_dnum prints it: "201,466.00" (level 1), "196.75K" (levels 2, 3).
std::string human_fraction(double value, int level);

// rsync's timestring(): "YYYY/MM/DD HH:MM:SS" in local time.
std::string rsync_time(int64_t seconds);

// ls -l's mode string as rsync's permstring() writes it ("drwxr-xr-x", with s/S/t/T).
std::string permission_string(mode_t mode);

}  // namespace ringkit::sync
