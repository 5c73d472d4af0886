#include "support/rsync_diff.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <sstream>

namespace ringkit::testing {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool is_item_line(const std::string& line) {
  return line.size() > 12 && std::string("<>ch.").find(line[0]) != std::string::npos &&
         std::string("fdLDS").find(line[1]) != std::string::npos && line[11] == ' ';
}

// rsync -v's header and summary ("sending incremental file list", "sent N bytes ...", "total
// size is ..."): progress reporting, compared by the output tests, not here.
bool is_transfer_summary(const std::string& line) {
  return line.empty() || line == "sending incremental file list" || line == "building file list ... done" ||
         line.starts_with("sent ") || line.starts_with("total size is ");
}

ItemizedOutput split_output(const std::string& text) {
  ItemizedOutput o;
  for (std::string line : split_lines(text)) {
    if (is_transfer_summary(line)) continue;
    if (line.starts_with("created directory ")) line = "created directory DEST";
    bool item = is_item_line(line) || line.starts_with("created directory ");
    if (item && line.starts_with("hf")) {
      o.links.push_back(line);
      continue;
    }
    (item ? o.items : line.starts_with("*deleting") ? o.deletions : o.notes).push_back(line);
  }
  std::sort(o.links.begin(), o.links.end());
  return o;
}

void expect_same_output(const RunResult& rr, const RunResult& gr) {
  EXPECT_EQ(gr.exit_code, rr.exit_code) << "rsync stderr:\n" << rr.err << "ringsync stderr:\n" << gr.err;
  ItemizedOutput ro = split_output(rr.out), go = split_output(gr.out);
  EXPECT_EQ(go.items, ro.items) << "rsync said:\n" << rr.out << "ringsync said:\n" << gr.out;
  EXPECT_EQ(go.links, ro.links) << "rsync said:\n" << rr.out << "ringsync said:\n" << gr.out;
  EXPECT_EQ(go.deletions, ro.deletions);
  EXPECT_EQ(go.notes, ro.notes);
}

std::string ringsync_binary() { return std::string(RINGKIT_BIN_DIR) + "/ringsync"; }

std::vector<std::string> option_words(const std::string& text,
                                      const std::vector<std::pair<std::string, std::string>>& replacements) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    std::replace(w.begin(), w.end(), '_', ' ');
    for (const auto& [from, to] : replacements) {
      for (size_t at = w.find(from); at != std::string::npos; at = w.find(from, at + to.size())) {
        w.replace(at, from.size(), to);
      }
    }
    out.push_back(w);
  }
  return out;
}

bool has_option(const std::vector<std::string>& options, const std::string& flag) {
  for (const auto& o : options) {
    if (flag.size() == 1 && o.size() > 1 && o[0] == '-' && o[1] != '-' && o.find(flag) != std::string::npos) {
      return true;
    }
    if (flag.size() > 1 && (o == flag || o.starts_with(flag + "="))) return true;
  }
  return false;
}

RunResult run_sync(const std::string& program, const std::vector<std::string>& options, const std::string& src,
                   const std::string& dest) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(src);
  argv.push_back(dest);
  return run_program(argv);
}

std::string param_test_name(const std::string& param) {
  std::string name = param;
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

void RsyncDiffTest::make_source(const char* prefix) {
  base_ = make_temp_dir(prefix);
  src_ = base_ + "/src";
  build_hostile_tree(src_);
  add_hard_link_groups(src_);
  pin_recent_times(src_, 1700000000, 1000000000);
}

void RsyncDiffTest::TearDown() {
  if (!base_.empty()) remove_tree(base_);
}

void RsyncDiffTest::parse_options(
    const std::function<std::vector<std::pair<std::string, std::string>>(const std::string&)>& replacements) {
  options_[0] = option_words(GetParam(), replacements("r"));
  options_[1] = option_words(GetParam(), replacements("g"));
}

void RsyncDiffTest::run_tools_and_compare_output() {
  RunResult rr = run_sync("rsync", options_[0], src_ + "/", base_ + "/r/");
  RunResult gr = run_sync(ringsync_binary(), options_[1], src_ + "/", base_ + "/g/");
  expect_same_output(rr, gr);
}

void RsyncDiffTest::compare_dry_runs() {
  SCOPED_TRACE("dry run with " + GetParam());
  std::vector<std::string> r = options_[0], g = options_[1];
  r.insert(r.begin(), "-n");
  g.insert(g.begin(), "-n");
  TreeState before = snapshot(base_ + "/g");
  RunResult rr = run_sync("rsync", r, src_ + "/", base_ + "/r/");
  RunResult gr = run_sync(ringsync_binary(), g, src_ + "/", base_ + "/g/");
  expect_same_output(rr, gr);
  auto changed = compare_trees(before, snapshot(base_ + "/g"), {});
  EXPECT_TRUE(changed.empty()) << "the dry run changed the destination:\n" << indent_lines(changed);
}

std::vector<std::string> items_below(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& [path, item] : snapshot(root)) {
    if (path != ".") out.push_back(path);
  }
  return out;
}

std::vector<std::string> files_linked_to(const std::string& root, const std::string& other) {
  std::vector<std::string> out;
  for (const auto& [path, item] : snapshot(root)) {
    if (item.type != 'f') continue;
    struct stat a {}, b {};
    if (::lstat((root + "/" + path).c_str(), &a) == 0 && ::lstat((other + "/" + path).c_str(), &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      out.push_back(path);
    }
  }
  return out;
}

ReadGate::ReadGate(const std::string& path) {
  fd_ = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
  if (fd_ < 0) {
    error_ = std::string("fanotify_init(FAN_CLASS_CONTENT): ") + std::strerror(errno);
    return;
  }
  if (fanotify_mark(fd_, FAN_MARK_ADD, FAN_ACCESS_PERM, AT_FDCWD, path.c_str()) != 0) {
    error_ = "fanotify_mark(FAN_ACCESS_PERM) on " + path + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

ReadGate::~ReadGate() {
  if (fd_ >= 0) ::close(fd_);  // pending reads go on
}

void ReadGate::serve(const std::function<void(int)>& before_allowing) {
  alignas(fanotify_event_metadata) char buf[4096];
  ssize_t len = ::read(fd_, buf, sizeof buf);
  if (len <= 0) return;
  auto* m = reinterpret_cast<fanotify_event_metadata*>(buf);
  for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
    if (m->fd < 0) continue;
    if (before_allowing) before_allowing(++reads_);
    fanotify_response answer{m->fd, FAN_ALLOW};
    if (::write(fd_, &answer, sizeof answer) != sizeof answer) ADD_FAILURE() << "fanotify answer failed";
    ::close(m->fd);
  }
}

}  // namespace ringkit::testing
