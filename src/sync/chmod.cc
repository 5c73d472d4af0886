#include "sync/chmod.h"

#include <sys/stat.h>

namespace ringkit::sync {

std::optional<ChmodRules> ChmodRules::parse(std::string_view text) {
  ChmodRules out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) return std::nullopt;
    Rule rule;
    if (item[0] == 'D' || item[0] == 'F') {
      rule.scope = item[0] == 'D' ? Rule::kDirs : Rule::kFiles;
      item.remove_prefix(1);
    }
    if (!item.empty() && item[0] >= '0' && item[0] <= '7') {
      mode_t mode = 0;
      for (char c : item) {
        if (c < '0' || c > '7') return std::nullopt;
        mode = mode * 8 + static_cast<mode_t>(c - '0');
      }
      if (item.size() > 4) return std::nullopt;
      rule.octal = mode & 07777;
      out.rules_.push_back(rule);
      continue;
    }
    size_t i = 0;
    for (; i < item.size(); ++i) {
      char c = item[i];
      if (c == 'u') rule.who |= 0700;
      else if (c == 'g') rule.who |= 0070;
      else if (c == 'o') rule.who |= 0007;
      else if (c == 'a') rule.who |= 0777;
      else break;
    }
    if (i == item.size()) return std::nullopt;  // no operator
    while (i < item.size()) {
      Change change;
      change.op = item[i];
      if (change.op != '+' && change.op != '-' && change.op != '=') return std::nullopt;
      for (++i; i < item.size() && item[i] != '+' && item[i] != '-' && item[i] != '='; ++i) {
        switch (item[i]) {
          case 'r': change.perms |= 0444; break;
          case 'w': change.perms |= 0222; break;
          case 'x': change.perms |= 0111; break;
          case 'X': change.cond_x = true; break;
          case 's': change.perms |= 06000; break;
          case 't': change.perms |= 01000; break;
          default: return std::nullopt;
        }
      }
      rule.changes.push_back(change);
    }
    out.rules_.push_back(rule);
  }
  return out;
}

void ChmodRules::append(const ChmodRules& more) { rules_.insert(rules_.end(), more.rules_.begin(), more.rules_.end()); }

mode_t ChmodRules::apply(mode_t mode, bool is_dir, mode_t umask_bits) const {
  mode &= 07777;
  for (const Rule& rule : rules_) {
    if ((rule.scope == Rule::kDirs && !is_dir) || (rule.scope == Rule::kFiles && is_dir)) continue;
    if (rule.octal) {
      mode = *rule.octal;
      continue;
    }
    // Who: the rwx bits it covers and the set-id bits that go with them (s: u and g; t: o).
    mode_t rwx = rule.who != 0 ? rule.who : (0777 & ~umask_bits);
    mode_t top = 0;
    if (rule.who == 0 || (rule.who & 0700) != 0) top |= S_ISUID;
    if (rule.who == 0 || (rule.who & 0070) != 0) top |= S_ISGID;
    top |= S_ISVTX;
    for (const Change& c : rule.changes) {
      mode_t perms = c.perms;
      if (c.cond_x && (is_dir || (mode & 0111) != 0)) perms |= 0111;
      mode_t bits = (perms & rwx) | (perms & top & 07000);
      if (c.op == '+') {
        mode |= bits;
      } else if (c.op == '-') {
        mode &= ~bits;
      } else {
        mode = (mode & ~rwx) | bits;  // rsync's '=' leaves the set-id and sticky bits alone
      }
    }
  }
  return mode;
}

}  // namespace ringkit::sync
