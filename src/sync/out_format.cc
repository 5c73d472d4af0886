#include "sync/out_format.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace ringkit::sync {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Letters rsync expands for a client; the daemon-only ones (%a %h %P %u) are not among them
// and so stay as written.
bool known_letter(char c) {
  return std::string_view("lUGpMBofnLmtbcCi%").find(c) != std::string_view::npos;
}

std::string pad(const std::string& s, int width, bool left) {
  if (static_cast<int>(s.size()) >= width) return s;
  std::string fill(static_cast<size_t>(width) - s.size(), ' ');
  return left ? s + fill : fill + s;
}

std::string hex(const std::array<unsigned char, 16>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace

std::string human_number(uint64_t n, int level) {
  if (level >= 2) {
    double unit = level == 2 ? 1000 : 1024;
    if (static_cast<double>(n) >= unit) {
      static constexpr char kUnits[] = "KMGTPE";
      double v = static_cast<double>(n) / unit;
      size_t u = 0;
      while (v >= unit && u + 1 < sizeof kUnits - 1) {
        v /= unit;
        ++u;
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f%c", v, kUnits[u]);
      return buf;
    }
  }
  std::string digits = std::to_string(n);
  if (level == 0) return digits;
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_fraction(double value, int level) {
  if (value < 0) value = 0;
  if (level >= 2 && value >= (level == 2 ? 1000 : 1024)) return human_number(static_cast<uint64_t>(value), level);
  auto whole = static_cast<uint64_t>(value);
  char cents[8];
  std::snprintf(cents, sizeof cents, "%02u", static_cast<unsigned>((value - static_cast<double>(whole)) * 100) % 100);
  return human_number(whole, level == 0 ? 0 : 1) + "." + cents;
}

std::string rsync_time(int64_t seconds) {
  char when[32] = "";
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  if (::localtime_r(&t, &tm) != nullptr) std::strftime(when, sizeof when, "%Y/%m/%d %H:%M:%S", &tm);
  return when;
}

std::string permission_string(mode_t mode) {
  std::string s = "----------";
  if (S_ISDIR(mode)) s[0] = 'd';
  else if (S_ISLNK(mode)) s[0] = 'l';
  else if (S_ISCHR(mode)) s[0] = 'c';
  else if (S_ISBLK(mode)) s[0] = 'b';
  else if (S_ISFIFO(mode)) s[0] = 'p';
  else if (S_ISSOCK(mode)) s[0] = 's';
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (mode & (0400 >> i)) s[1 + i] = rwx[i];
  }
  auto special = [&s, mode](int at, mode_t bit, char on_x, char off_x) {
    if (mode & bit) s[at] = s[at] == 'x' ? on_x : off_x;
  };
  special(3, S_ISUID, 's', 'S');
  special(6, S_ISGID, 's', 'S');
  special(9, S_ISVTX, 't', 'T');
  return s;
}

OutFormat::OutFormat(std::string format) : text_(std::move(format)) {
  const std::string& f = text_;
  std::string literal;
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      literal += f[i++];
      continue;
    }
    // '%' ['\'']* ['-'] [0-9]* ['\'']* LETTER, as rsync 3.5.0 reads it.
    size_t p = i + 1;
    Piece esc;
    while (p < f.size() && f[p] == '\'') ++esc.human, ++p;
    if (p < f.size() && f[p] == '-') esc.left = true, ++p;
    size_t digits = p;
    while (p < f.size() && is_digit(f[p])) ++p;
    if (p > digits) esc.width = std::stoi(f.substr(digits, std::min<size_t>(p - digits, 6)));
    while (p < f.size() && f[p] == '\'') ++esc.human, ++p;
    if (p >= f.size() || !known_letter(f[p])) {
      // Left as written; scanning goes on at the character after the '%' sequence's head.
      literal.append(f, i, p - i);
      i = p;
      continue;
    }
    esc.letter = f[p];
    esc.human = std::min(esc.human, 3);
    if (!literal.empty()) pieces_.push_back({std::move(literal)});
    literal.clear();
    pieces_.push_back(std::move(esc));
    i = p + 1;
  }
  if (!literal.empty()) pieces_.push_back({std::move(literal)});
}

bool OutFormat::has(char letter) const {
  return std::any_of(pieces_.begin(), pieces_.end(), [letter](const Piece& p) { return p.letter == letter; });
}

std::string OutFormat::render(const LogItem& item, const char* op) const {
  std::string out;
  for (const Piece& p : pieces_) {
    if (p.letter == 0) {
      out += p.literal;
      continue;
    }
    std::string v;
    switch (p.letter) {
      case 'l': v = human_number(item.length, p.human); break;
      case 'b': v = human_number(item.bytes_written, p.human); break;
      case 'c': v = human_number(item.bytes_read, p.human); break;
      case 'U': v = std::to_string(item.uid); break;
      case 'G': v = item.gid_known ? std::to_string(item.gid) : "DEFAULT"; break;
      case 'p': v = std::to_string(::getpid()); break;
      case 'M': {
        v = rsync_time(item.mtime);
        std::replace(v.begin(), v.end(), ' ', '-');
        break;
      }
      case 'B': v = permission_string(item.mode).substr(1); break;
      case 'o': v = op; break;
      case 'f': v = item.sender_path; break;
      case 'n': v = item.name + (S_ISDIR(item.mode) ? "/" : ""); break;
      case 'L': {
        // The width pads the target; the arrow (or four spaces) is not counted.
        const std::string* target = nullptr;
        const char* arrow = "    ";
        if (!item.hardlink_target.empty()) {
          target = &item.hardlink_target, arrow = " => ";
        } else if (S_ISLNK(item.mode) && !item.deleted) {
          target = &item.symlink_target, arrow = " -> ";
        }
        if (target == nullptr && p.width == 0 && !p.left) break;
        out += arrow + pad(target != nullptr ? *target : std::string(), p.width, p.left);
        continue;
      }
      case 'm': break;
      case 't': v = rsync_time(::time(nullptr)); break;
      case 'i': v = item.deleted ? "*deleting  " : itemize(item.change); break;
      case 'C':
        if (item.checksum_state == LogItem::Checksum::kKnown) v = hex(item.checksum);
        else v.assign(32, item.checksum_state == LogItem::Checksum::kZero ? '0' : ' ');
        break;
      case '%': v = "%"; break;
    }
    out += pad(v, p.width, p.left);
  }
  return out;
}

}  // namespace ringkit::sync
