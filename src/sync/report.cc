#include "sync/report.h"

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

void Reporter::line(const std::string& raw) {
  std::string text = escape_for_output(raw);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fputc('\n', out_);
}

void Reporter::file_error(const std::string& what, const std::string& path, const std::error_code& ec) {
  std::fprintf(err_, "ringsync: %s \"%s\" failed: %s (%d)\n", what.c_str(), escape_for_output(path).c_str(),
               ec.message().c_str(), ec.value());
  raise(kExitPartial);
}

void Reporter::vanished(const std::string& path) {
  std::fprintf(err_, "file has vanished: \"%s\"\n", escape_for_output(path).c_str());
  raise(kExitVanished);
}

void Reporter::fatal(const std::string& message, int code) {
  std::fprintf(err_, "ringsync: %s\n", message.c_str());
  raise(code);
  stopped_ = true;
}

void Reporter::error_line(const std::string& message, int code) {
  std::fprintf(err_, "%s\n", escape_for_output(message).c_str());
  raise(code);
}

void Reporter::warning(const std::string& message) {
  std::fprintf(err_, "ringsync: %s\n", message.c_str());
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

std::string Reporter::stats_text(bool human, double seconds) const {
  const SyncStats& s = stats_;
  std::string t;
  auto row = [&t](const char* label, const std::string& value) { t += std::string(label) + value + "\n"; };
  row("Number of files: ", format_size(s.files, false) + " (reg: " + format_size(s.regular_files, false) +
                               ", dir: " + format_size(s.dirs, false) + ", link: " +
                               format_size(s.links, false) + ")");
  row("Number of created files: ", format_size(s.created, false));
  row("Number of deleted files: ", format_size(s.deleted, false));
  row("Number of regular files transferred: ", format_size(s.transferred, false));
  row("Total file size: ", format_size(s.total_size, human) + " bytes");
  row("Total transferred file size: ", format_size(s.transferred_bytes, human) + " bytes");
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.2f", seconds > 0 ? s.transferred_bytes / seconds : 0.0);
  row("Elapsed time: ", std::to_string(seconds) + " seconds");
  row("Transfer rate: ", std::string(rate) + " bytes/sec");
  return t;
}

}  // namespace ringkit::sync
