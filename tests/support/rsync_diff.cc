#include "support/rsync_diff.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <sstream>

namespace ringkit::testing {

const std::string& ringsync_program() {
  static const std::string path = std::string(RINGKIT_BIN_DIR) + "/ringsync";
  return path;
}

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

SyncOutput split_output(const std::string& text) {
  SyncOutput o;
  for (std::string line : split_lines(text)) {
    if (line.starts_with("created directory ")) line = "created directory DEST";
    // --mkpath: "created 2 directories for DEST"
    if (size_t at = line.find(" for "); line.starts_with("created ") && at != std::string::npos) {
      line = line.substr(0, at) + " for DEST";
    }
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

RunResult run_in(const std::vector<std::string>& argv, const std::string& cwd, const std::string& stdin_path) {
  // (Only async-signal-safe calls between fork and exec: the strings are ready before.)
  const char* dir = cwd.empty() ? nullptr : cwd.c_str();
  const char* in = stdin_path.empty() ? nullptr : stdin_path.c_str();
  Spawned p = spawn_program(argv, true, [dir, in] {
    if (dir != nullptr && ::chdir(dir) != 0) return false;
    if (in != nullptr) {
      int fd = ::open(in, O_RDONLY);
      if (fd < 0 || ::dup2(fd, 0) < 0) return false;
    }
    return true;
  });
  if (p.pid < 0) return {};
  return wait_program(p);
}

void expect_same_run(const RunResult& r, const RunResult& g, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(g.exit_code, r.exit_code) << "rsync stderr:\n" << r.err << "ringsync stderr:\n" << g.err;
  SyncOutput ro = split_output(r.out), go = split_output(g.out);
  EXPECT_EQ(go.items, ro.items) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
  EXPECT_EQ(go.links, ro.links) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
  EXPECT_EQ(go.deletions, ro.deletions) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
  EXPECT_EQ(go.notes, ro.notes) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
}

std::string param_test_name(const std::string& text, size_t index) {
  std::string name = text;
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name + "_" + std::to_string(index);
}

std::vector<std::string> words(const std::string& spec) {
  std::vector<std::string> out;
  std::istringstream in(spec);
  for (std::string w; in >> w;) {
    std::replace(w.begin(), w.end(), '_', ' ');
    out.push_back(w);
  }
  return out;
}

}  // namespace ringkit::testing

namespace ringkit::testing {

bool has_option(const std::vector<std::string>& options, const std::string& flag) {
  for (const auto& o : options) {
    if (flag.size() == 1 && o.size() > 1 && o[0] == '-' && o[1] != '-' && o.find(flag) != std::string::npos) {
      return true;
    }
    if (flag.size() > 1 && (o == flag || o.starts_with(flag + "="))) return true;
  }
  return false;
}

SnapshotOptions compare_options_for(const std::vector<std::string>& options, bool dir_times) {
  SnapshotOptions cmp;
  cmp.times = has_option(options, "a") || has_option(options, "t");
  cmp.owners = has_option(options, "a") || has_option(options, "o");
  cmp.modes = has_option(options, "a") || has_option(options, "p");
  cmp.xattrs = has_option(options, "X");
  cmp.acls = has_option(options, "A");
  // (-b without --backup-dir implies -O in rsync, and in ringsync.)
  bool backups_beside = (has_option(options, "b") || has_option(options, "--backup")) &&
                        !has_option(options, "--backup-dir");
  cmp.dir_times = dir_times && cmp.times && !has_option(options, "O") && !backups_beside;
  cmp.nlink = has_option(options, "H");
  return cmp;
}

RunResult DiffRuns::run_ringsync(const std::vector<std::string>& args, const std::string& dest,
                                 const std::string& stdin_path) const {
  std::vector<std::string> argv = {ringsync_program()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(dest);
  return run_in(argv, base_, stdin_path);
}

RunResult DiffRuns::run_rsync(const std::vector<std::string>& args, const std::string& dest,
                              const std::string& stdin_path) const {
  std::vector<std::string> argv = {"rsync"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(dest);
  return run_in(argv, base_, stdin_path);
}

void DiffRuns::drop_unstable(RunResult& run) const {
  if (!unstable_) return;
  std::string kept;
  for (const std::string& line : split_lines(run.out)) {
    if (!unstable_(line)) kept += line + "\n";
  }
  run.out = kept;
}

void DiffRuns::run_both(const std::vector<std::string>& args, const std::string& what, const std::string& stdin_path) {
  RunResult r = run_rsync(args, base_ + "/r/", stdin_path);
  RunResult g = run_ringsync(args, base_ + "/g/", stdin_path);
  drop_unstable(r);
  drop_unstable(g);
  expect_same_run(r, g, what);
}

void DiffRuns::first_noop_resync(const std::vector<std::string>& args, const SnapshotOptions& cmp,
                                 const std::function<void()>& change_source, const std::string& stdin_path) {
  run_both(args, "first copy", stdin_path);
  expect_same_trees(cmp);
  run_both(args, "no-op re-run", stdin_path);
  change_source();
  run_both(args, "re-sync after changes", stdin_path);
  expect_same_trees(cmp);
}

void DiffRuns::expect_same_trees(const SnapshotOptions& cmp) const {
  TreeState r = snapshot(base_ + "/r"), g = snapshot(base_ + "/g");
  r.erase(".");
  g.erase(".");
  for (const auto& d : compare_trees(r, g, cmp)) ADD_FAILURE() << "rsync vs ringsync: " << d;
}

void DiffRuns::expect_dry_runs_match(const std::vector<std::string>& args, const std::function<void()>& change_source,
                                     const std::string& stdin_path) {
  expect_dry_run_matches(args, stdin_path);
  change_source();
  expect_dry_run_matches(args, stdin_path);
}

void DiffRuns::expect_dry_run_matches(const std::vector<std::string>& args, const std::string& stdin_path) {
  std::vector<std::string> dry = {"-n"};
  dry.insert(dry.end(), args.begin(), args.end());
  TreeState before = snapshot(base_ + "/g");
  RunResult d = run_ringsync(dry, base_ + "/g/", stdin_path);
  EXPECT_TRUE(compare_trees(before, snapshot(base_ + "/g"), {}).empty()) << "a dry run changed the tree";
  RunResult real = run_ringsync(args, base_ + "/g/", stdin_path);
  drop_unstable(d);
  drop_unstable(real);
  SyncOutput dout = split_output(d.out), rout = split_output(real.out);
  EXPECT_EQ(d.exit_code, real.exit_code) << d.err << "\n--\n" << real.err;
  EXPECT_EQ(dout.items, rout.items) << "dry run:\n" << d.out << "real run:\n" << real.out;
  EXPECT_EQ(dout.links, rout.links);
  EXPECT_EQ(dout.deletions, rout.deletions);
  EXPECT_EQ(dout.notes, rout.notes);
}

}  // namespace ringkit::testing

// ---- For the write-side tests ----

namespace ringkit::testing {

std::vector<std::string> words_with(const std::string& spec,
                                    const std::vector<std::pair<std::string, std::string>>& replacements) {
  std::vector<std::string> out = words(spec);
  for (std::string& w : out) {
    for (const auto& [from, to] : replacements) {
      for (size_t at = w.find(from); at != std::string::npos; at = w.find(from, at + to.size())) {
        w.replace(at, from.size(), to);
      }
    }
  }
  return out;
}

RunResult run_sync(const std::string& program, const std::vector<std::string>& options, const std::string& src,
                   const std::string& dest) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(src);
  argv.push_back(dest);
  return run_program(argv);
}

void drop_transfer_summary(RunResult& run) {
  std::string kept;
  for (const std::string& line : split_lines(run.out)) {
    bool summary = line.empty() || line == "sending incremental file list" || line == "building file list ... done" ||
                   line.starts_with("sent ") || line.starts_with("total size is ");
    if (!summary) kept += line + "\n";
  }
  run.out = kept;
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

void build_diff_source(const std::string& root) {
  build_hostile_tree(root);
  add_hard_link_groups(root);
  pin_recent_times(root, 1700000000, 1000000000);
}

void RsyncDiffTest::make_source(const char* prefix) {
  base_ = make_temp_dir(prefix);
  src_ = base_ + "/src";
  build_diff_source(src_);
}

void RsyncDiffTest::TearDown() {
  if (!base_.empty()) remove_tree(base_);
}

void RsyncDiffTest::parse_options(
    const std::function<std::vector<std::pair<std::string, std::string>>(const std::string&)>& replacements) {
  options_[0] = words_with(GetParam(), replacements("r"));
  options_[1] = words_with(GetParam(), replacements("g"));
}

void RsyncDiffTest::run_tools_and_compare_output() {
  RunResult rr = run_sync("rsync", options_[0], src_ + "/", base_ + "/r/");
  RunResult gr = run_sync(ringsync_program(), options_[1], src_ + "/", base_ + "/g/");
  drop_transfer_summary(rr);
  drop_transfer_summary(gr);
  expect_same_run(rr, gr, "with " + GetParam());
}

void RsyncDiffTest::expect_same_destinations(const SnapshotOptions& cmp,
                                             const std::function<void(TreeState&)>& adjust) const {
  TreeState r = snapshot(base_ + "/r"), g = snapshot(base_ + "/g");
  if (adjust) {
    adjust(r);
    adjust(g);
  }
  for (const auto& d : compare_trees(r, g, cmp)) ADD_FAILURE() << "ringsync vs rsync: " << d;
}

void RsyncDiffTest::compare_dry_runs() {
  std::vector<std::string> r = options_[0], g = options_[1];
  r.insert(r.begin(), "-n");
  g.insert(g.begin(), "-n");
  TreeState before = snapshot(base_ + "/g");
  RunResult rr = run_sync("rsync", r, src_ + "/", base_ + "/r/");
  RunResult gr = run_sync(ringsync_program(), g, src_ + "/", base_ + "/g/");
  drop_transfer_summary(rr);
  drop_transfer_summary(gr);
  expect_same_run(rr, gr, "dry run with " + GetParam());
  auto changed = compare_trees(before, snapshot(base_ + "/g"), {});
  EXPECT_TRUE(changed.empty()) << "the dry run changed the destination:\n" << indent_lines(changed);
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
