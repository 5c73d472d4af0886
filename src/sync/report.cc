#include "sync/report.h"

#include <sys/stat.h>

#include <cstring>
#include <cwchar>
#include <cwctype>

namespace ringkit::sync {

namespace {
// rsync orders exit codes by severity: a fatal code is never replaced by a "partial" one, and
// --max-delete's 25 only shows when nothing else went wrong (rsync checks its I/O error flags
// in the order general, vanished, delete limit).
int severity(int code) {
  switch (code) {
    case kExitOk: return 0;
    case kExitDeleteLimit: return 1;
    case kExitVanished: return 2;
    case kExitPartial: return 3;
    default: return 4;
  }
}
}  // namespace

void Reporter::raise(int code) {
  if (severity(code) > severity(exit_code_)) exit_code_ = code;
}

std::string escape_for_log(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool looks_escaped = c == '\\' && i + 4 < text.size() && text[i + 1] == '#';
    if ((c < ' ' && c != '\t') || looks_escaped) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\#%03o", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string escape_for_output(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  auto escape = [&out](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\#%03o", c);
    out += buf;
  };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::mbstate_t state{};
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\' && i + 4 < text.size() && text[i + 1] == '#' && digit(text[i + 2]) && digit(text[i + 3]) &&
        digit(text[i + 4])) {
      escape(c);
      ++i;
    } else if (c < ' ' && c != '\t') {
      escape(c);
      ++i;
    } else if (c >= 0x80) {
      wchar_t wc;
      size_t n = std::mbrtowc(&wc, text.data() + i, text.size() - i, &state);
      if (n == static_cast<size_t>(-1) || n == static_cast<size_t>(-2) || n == 0 || !std::iswprint(static_cast<wint_t>(wc))) {
        state = std::mbstate_t{};
        escape(c);
        ++i;
      } else {
        out.append(text, i, n);
        i += n;
      }
    } else {
      out += static_cast<char>(c);
      ++i;
    }
  }
  return out;
}

void Reporter::end_progress_line() {
  if (!line_open_) return;
  std::fputc('\n', out_);
  line_open_ = false;
}

void Reporter::log_message(const std::string& text) {
  if (log_ != nullptr) log_->write(text);
}

void Reporter::item_line(const std::string& raw) {
  end_progress_line();
  std::string text = escape_for_output(raw);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), out_);
}

void Reporter::line(const std::string& raw) {
  item_line(raw);
  log_message(raw);
}

void Reporter::progress(const std::string& text, bool line_open) {
  std::fwrite(text.data(), 1, text.size(), out_);
  line_open_ = line_open;
  std::fflush(out_);  // at most a few times a second: the caller throttles
}

void Reporter::info_text(const std::string& text) {
  end_progress_line();
  std::fputs(text.c_str(), out_);
  if (log_ == nullptr) return;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string one = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!one.empty()) log_->write(one);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
}

// Messages for stderr: a progress line on stdout is ended first (both may be one terminal).
void Reporter::file_error(const std::string& what, const std::string& path, const std::error_code& ec) {
  std::string text = "ringsync: " + what + " \"" + escape_for_output(path) + "\" failed: " + ec.message() + " (" +
                     std::to_string(ec.value()) + ")";
  end_progress_line();
  std::fprintf(err_, "%s\n", text.c_str());
  log_message(text);
  raise(kExitPartial);
}

void Reporter::vanished(const std::string& path) {
  std::string text = "file has vanished: \"" + escape_for_output(path) + "\"";
  end_progress_line();
  std::fprintf(err_, "%s\n", text.c_str());
  log_message(text);
  raise(kExitVanished);
}

void Reporter::fatal(const std::string& message, int code) {
  end_progress_line();
  std::fprintf(err_, "ringsync: %s\n", message.c_str());
  log_message("ringsync: " + message);
  raise(code);
  stopped_ = true;
}

void Reporter::error_line(const std::string& message, int code) {
  end_progress_line();
  std::fprintf(err_, "%s\n", escape_for_output(message).c_str());
  log_message(message);
  raise(code);
}

void Reporter::warning(const std::string& message) {
  end_progress_line();
  std::fprintf(err_, "ringsync: %s\n", message.c_str());
  log_message("ringsync: " + message);
}

std::string format_size(uint64_t n, bool human) {
  char buf[64];
  if (human) {
    const char* units = "KMGTP";
    double v = static_cast<double>(n);
    if (v < 1024) {
      std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
      return buf;
    }
    int u = -1;
    while (v >= 1024 && u < 4) {
      v /= 1024;
      ++u;
    }
    std::snprintf(buf, sizeof buf, "%.2f%c", v, units[u]);
    return buf;
  }
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void KindCounts::add(mode_t mode) {
  if (S_ISREG(mode)) {
    ++reg;
  } else if (S_ISDIR(mode)) {
    ++dir;
  } else if (S_ISLNK(mode)) {
    ++link;
  } else if (S_ISCHR(mode) || S_ISBLK(mode)) {
    ++dev;
  } else {
    ++special;
  }
}

namespace {

// "5 (reg: 2, dir: 1, special: 2)": the kinds there are, as rsync prints them.
std::string by_kind(const KindCounts& k) {
  std::string t = format_size(k.total(), false);
  std::string parts;
  auto part = [&parts](const char* name, uint64_t n) {
    if (n == 0) return;
    parts += (parts.empty() ? "" : ", ") + std::string(name) + ": " + format_size(n, false);
  };
  part("reg", k.reg);
  part("dir", k.dir);
  part("link", k.link);
  part("dev", k.dev);
  part("special", k.special);
  return parts.empty() ? t : t + " (" + parts + ")";
}

}  // namespace

std::string Reporter::stats_text(bool human, double list_seconds, uint64_t sent, uint64_t received) const {
  const SyncStats& s = stats_;
  std::string t;
  auto row = [&t](const char* label, const std::string& value) { t += std::string(label) + value + "\n"; };
  row("Number of files: ", by_kind(s.files));
  row("Number of created files: ", by_kind(s.created));
  row("Number of deleted files: ", by_kind(s.deleted));
  row("Number of regular files transferred: ", format_size(s.transferred, false));
  row("Total file size: ", format_size(s.total_size, human) + " bytes");
  row("Total transferred file size: ", format_size(s.transferred_bytes, human) + " bytes");
  // A local copy sends whole files: every byte written is literal data, none matched.
  row("Literal data: ", format_size(s.literal_bytes, human) + " bytes");
  row("Matched data: ", "0 bytes");
  // ringsync sends no file list (rsync's local runs print 0 here too).
  row("File list size: ", "0");
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", list_seconds);
  row("File list generation time: ", std::string(seconds) + " seconds");
  row("File list transfer time: ", "0.000 seconds");
  row("Total bytes sent: ", format_size(sent, human));
  row("Total bytes received: ", format_size(received, human));
  return t;
}

}  // namespace ringkit::sync
