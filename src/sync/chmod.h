// --chmod: rsync's permission rules, e.g. "Dg+s,Fo-w", "u=rwX,go=rX", "D755,F644".
//
// Each comma-separated rule may start with D (directories only) or F (everything else), then
// is either an octal mode or chmod(1)'s symbolic form: who (u, g, o, a), then one or more of
// an operator (+ - =) and permissions (r w x X s t). Without a who, the bits the umask masks
// are left alone, as chmod(1) does. rsync applies the rules to each source item's mode (not to
// symlinks) before it compares or copies, so they act as the source's permissions.
// A plain value; thread-compatible.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringkit::sync {

class ChmodRules {
 public:
  // Parses one --chmod value (rules joined by commas); nullopt if it is malformed.
  static std::optional<ChmodRules> parse(std::string_view text);
  // Appends another --chmod value's rules (they apply in order).
  void append(const ChmodRules& more);

  bool empty() const { return rules_.empty(); }
  // The permission bits (07777) of an item of mode `mode` after the rules; `umask_bits` is what
  // a rule without a who leaves alone.
  mode_t apply(mode_t mode, bool is_dir, mode_t umask_bits) const;

 private:
  struct Change {
    char op = '+';         // + - =
    mode_t perms = 0;      // r/w/x as 0444/0222/0111, s as 06000, t as 01000 (before `who`)
    bool cond_x = false;   // X: execute if a directory or already executable by someone
  };
  struct Rule {
    enum Scope { kAll, kDirs, kFiles } scope = kAll;
    std::optional<mode_t> octal;
    mode_t who = 0;        // 0700 u, 0070 g, 0007 o; 0 = none given
    std::vector<Change> changes;
  };
  std::vector<Rule> rules_;
};

}  // namespace ringkit::sync
