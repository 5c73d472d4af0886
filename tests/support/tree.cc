#include "support/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>

namespace ringkit::testing {
namespace {

std::string hash_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return "unreadable";
  uint64_t h = 1469598103934665603ull;  // FNV-1a: enough to tell contents apart in tests
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ull;
  }
  ::close(fd);
  return std::to_string(h);
}

std::map<std::string, std::string> read_xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[65536];
  ssize_t len = ::llistxattr(path.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < len;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    char value[65536];
    ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    if (v >= 0) out[name] = std::string(value, static_cast<size_t>(v));
  }
  return out;
}

char type_of(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISFIFO(m)) return 'p';
  if (S_ISSOCK(m)) return 's';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  return '?';
}

// Walks with *at() calls so that paths deeper than PATH_MAX work too.
void walk(int dirfd, const std::string& rel, const std::string& abs_for_xattrs, TreeState& out) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
  DIR* d = fdopendir(fd);
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    ItemState item;
    item.type = type_of(st.st_mode);
    item.mode = st.st_mode & 07777;
    item.uid = st.st_uid;
    item.gid = st.st_gid;
    item.size = S_ISREG(st.st_mode) ? st.st_size : 0;
    item.mtime_sec = st.st_mtim.tv_sec;
    item.mtime_nsec = st.st_mtim.tv_nsec;
    item.rdev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? st.st_rdev : 0;
    item.nlink = S_ISDIR(st.st_mode) ? 0 : st.st_nlink;
    std::string path = rel.empty() ? name : rel + "/" + name;
    std::string proc = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    if (S_ISREG(st.st_mode)) {
      int f = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW);
      item.content_hash = f >= 0 ? hash_file("/proc/self/fd/" + std::to_string(f)) : "unreadable";
      if (f >= 0) ::close(f);
    }
    if (S_ISLNK(st.st_mode)) {
      char target[8192];
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target, sizeof target);
      if (n >= 0) item.link_target.assign(target, static_cast<size_t>(n));
    }
    item.xattrs = read_xattrs(proc);
    out[path] = item;
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub >= 0) {
        walk(sub, path, abs_for_xattrs, out);
        ::close(sub);
      }
    }
  }
  closedir(d);
}

void check(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void set_times(const std::string& path, long long sec, long nsec) {
  timespec t[2] = {{sec, nsec}, {sec, nsec}};
  check(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), "utimensat " + path);
}

}  // namespace

TreeState snapshot(const std::string& root) {
  TreeState out;
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return out;
  struct stat st {};
  fstat(fd, &st);
  ItemState top;
  top.type = 'd';
  top.mode = st.st_mode & 07777;
  top.uid = st.st_uid;
  top.gid = st.st_gid;
  top.mtime_sec = st.st_mtim.tv_sec;
  top.mtime_nsec = st.st_mtim.tv_nsec;
  top.xattrs = read_xattrs(root);
  out["."] = top;
  walk(fd, "", root, out);
  ::close(fd);
  return out;
}

std::vector<std::string> compare_trees(const TreeState& expected, const TreeState& actual,
                                       const SnapshotOptions& o) {
  std::vector<std::string> diffs;
  for (const auto& [path, e] : expected) {
    auto it = actual.find(path);
    if (it == actual.end()) {
      if (!o.common_only) diffs.push_back(path + ": missing");
      continue;
    }
    const ItemState& a = it->second;
    if (o.common_only && a.type != e.type) continue;
    auto differ = [&](const std::string& what, const std::string& x, const std::string& y) {
      if (x != y) diffs.push_back(path + ": " + what + " " + x + " vs " + y);
    };
    differ("type", std::string(1, e.type), std::string(1, a.type));
    if (e.type != a.type) continue;
    if (e.type != 'l' && o.modes) differ("mode", std::to_string(e.mode), std::to_string(a.mode));
    if (o.owners) {
      differ("uid", std::to_string(e.uid), std::to_string(a.uid));
      differ("gid", std::to_string(e.gid), std::to_string(a.gid));
    }
    differ("size", std::to_string(e.size), std::to_string(a.size));
    differ("content", e.content_hash, a.content_hash);
    differ("target", e.link_target, a.link_target);
    differ("rdev", std::to_string(e.rdev), std::to_string(a.rdev));
    if (o.nlink) differ("nlink", std::to_string(e.nlink), std::to_string(a.nlink));
    if (o.times && (e.type != 'd' || o.dir_times)) {
      differ("mtime", std::to_string(e.mtime_sec), std::to_string(a.mtime_sec));
      if (o.nanoseconds) differ("mtime_ns", std::to_string(e.mtime_nsec), std::to_string(a.mtime_nsec));
    }
    auto compared = [&o](const std::string& name) {
      return name.starts_with("system.posix_acl_") ? o.acls : o.xattrs;
    };
    for (const auto& [k, v] : e.xattrs) {
      auto x = a.xattrs.find(k);
      if (compared(k) && (x == a.xattrs.end() || x->second != v)) diffs.push_back(path + ": xattr " + k);
    }
    for (const auto& [k, v] : a.xattrs) {
      if (compared(k) && !e.xattrs.count(k)) diffs.push_back(path + ": extra xattr " + k);
    }
  }
  for (const auto& [path, a] : actual) {
    if (!o.common_only && !expected.count(path)) diffs.push_back(path + ": unexpected");
  }
  return diffs;
}

void write_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(fd < 0 ? -1 : 0, "create " + path);
  if (!content.empty() && ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    ::close(fd);
    throw std::runtime_error("write " + path);
  }
  ::close(fd);
}

void build_hostile_tree(const std::string& root) {
  namespace fsys = std::filesystem;
  fsys::create_directories(root + "/sub/deeper");
  fsys::create_directories(root + "/empty-dir");
  write_file(root + "/empty", "");
  write_file(root + "/small", "hello\n");
  write_file(root + "/big", std::string((1 << 20) + 7, 'x'));
  {
    // Sparse: 4 MiB hole, then data.
    int fd = ::open((root + "/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    check(fd < 0 ? -1 : 0, "sparse");
    check(::pwrite(fd, "end", 3, 4 << 20) == 3 ? 0 : -1, "sparse write");
    ::close(fd);
  }
  write_file(root + "/sub/file", "in sub\n");
  write_file(root + "/sub/deeper/leaf", "leaf\n");
  write_file(root + "/-leading-dash", "dash\n");
  write_file(root + "/new\nline", "newline\n");
  write_file(root + "/bad-utf8-\xff\xfe", "bytes\n");
  write_file(root + "/" + std::string(255, 'n'), "long name\n");
  write_file(root + "/space name", "space\n");
  check(::symlink("small", (root + "/rel-link").c_str()), "symlink");
  check(::symlink("/etc/hostname", (root + "/abs-link").c_str()), "symlink");
  check(::symlink("does-not-exist", (root + "/dangling").c_str()), "symlink");
  check(::symlink("loop", (root + "/loop").c_str()), "symlink");
  check(::symlink("../small", (root + "/sub/up-link").c_str()), "symlink");
  check(::mkfifo((root + "/fifo").c_str(), 0644), "mkfifo");
  {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string p = root + "/socket";
    if (p.size() < sizeof addr.sun_path) {
      std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
      check(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), "bind socket");
    }
    ::close(s);
  }
  if (geteuid() == 0) {
    check(::mknod((root + "/char-dev").c_str(), S_IFCHR | 0600, makedev(1, 3)), "mknod");
    check(::mknod((root + "/block-dev").c_str(), S_IFBLK | 0600, makedev(7, 200)), "mknod");
    check(::chown((root + "/small").c_str(), 1234, 5678), "chown");
    check(::lchown((root + "/rel-link").c_str(), 4321, 8765), "lchown");
  }
  write_file(root + "/setuid", "s");
  check(::chmod((root + "/setuid").c_str(), 04755), "chmod");
  write_file(root + "/setgid", "g");
  check(::chmod((root + "/setgid").c_str(), 02711), "chmod");
  check(::chmod((root + "/empty-dir").c_str(), 01777), "chmod sticky");
  write_file(root + "/odd-mode", "o");
  check(::chmod((root + "/odd-mode").c_str(), 0401), "chmod");
  ::setxattr((root + "/small").c_str(), "user.note", "value", 5, 0);
  ::setxattr((root + "/sub").c_str(), "user.dir", "d", 1, 0);
  ::setxattr((root + "/small").c_str(), "trusted.t", "tv", 2, 0);
  // An ACL, set with the real tool.
  run_program({"setfacl", "-m", "u:1234:r--", root + "/sub/file"});
  write_file(root + "/hardlink-a", "shared\n");
  check(::link((root + "/hardlink-a").c_str(), (root + "/hardlink-b").c_str()), "link");
  set_times(root + "/big", 0, 0);                       // 1970
  set_times(root + "/empty", 4102444800LL, 0);          // 2100
  set_times(root + "/small", 1600000000, 123456789);    // nanoseconds
  set_times(root + "/rel-link", 1500000000, 5);
}

void add_hard_link_groups(const std::string& root) {
  std::filesystem::create_directories(root + "/hl/one");
  std::filesystem::create_directories(root + "/hl/two");
  auto link = [](const std::string& from, const std::string& to) {
    check(::link(from.c_str(), to.c_str()), "link " + to);
  };
  write_file(root + "/hl/one/x", "group of four\n");
  link(root + "/hl/one/x", root + "/hl/two/y");
  link(root + "/hl/one/x", root + "/hl/z");
  link(root + "/hl/one/x", root + "/sub/hl-member");
  write_file(root + "/hl/two/pair-1", "pair\n");
  link(root + "/hl/two/pair-1", root + "/hl/two/pair-2");
  link(root + "/big", root + "/hl/big-link");
  link(root + "/rel-link", root + "/hl/symlink-link");  // link(2) does not follow: one symlink, two names
  link(root + "/fifo", root + "/hl/fifo-link");
}

void pin_recent_times(const std::string& root, long long newer_than, long long to) {
  std::vector<std::string> paths = {root};
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    paths.push_back(it->path().string());
  }
  // Children before parents: setting a child's time does not touch its directory's.
  for (auto p = paths.rbegin(); p != paths.rend(); ++p) {
    struct stat st {};
    if (::lstat(p->c_str(), &st) == 0 && st.st_mtim.tv_sec > newer_than) set_times(*p, to, 0);
  }
}

RunResult run_program(const std::vector<std::string>& argv) {
  Spawned p = spawn_program(argv);
  if (p.pid < 0) return {};
  return wait_program(p);
}

std::string make_temp_dir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
  return tmpl;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  // Make everything writable first (tests create read-only directories).
  std::filesystem::remove_all(path, ec);
}

}  // namespace ringkit::testing

// ---- For the fault-injection tests ----

namespace ringkit::testing {

Spawned spawn_program(const std::vector<std::string>& argv, bool capture, const std::function<bool()>& in_child) {
  Spawned s;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (capture && (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)) return s;
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (capture) {
      dup2(out_pipe[1], 1);
      dup2(err_pipe[1], 2);
    } else {
      int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
    }
    if (in_child && !in_child()) _exit(126);
    execvp(args[0], args.data());
    _exit(127);
  }
  s.pid = pid;
  if (capture) {
    close(out_pipe[1]);
    close(err_pipe[1]);
    s.out_fd = out_pipe[0];
    s.err_fd = err_pipe[0];
  }
  return s;
}

RunResult wait_program(Spawned& p, int extra_fd, const std::function<void()>& on_extra) {
  RunResult r;
  pollfd fds[3] = {{p.out_fd, POLLIN, 0}, {p.err_fd, POLLIN, 0}, {extra_fd, POLLIN, 0}};
  std::string* into[2] = {&r.out, &r.err};
  int open_pipes = (p.out_fd >= 0) + (p.err_fd >= 0);
  while (open_pipes > 0) {
    if (poll(fds, 3, -1) < 0 && errno != EINTR) break;
    if (fds[2].fd >= 0 && (fds[2].revents & POLLIN) && on_extra) on_extra();
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        into[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  p.out_fd = p.err_fd = -1;
  int status = 0;
  waitpid(p.pid, &status, 0);
  p.pid = -1;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int kill_program(Spawned& p) {
  ::kill(p.pid, SIGKILL);
  int status = 0;
  waitpid(p.pid, &status, 0);
  p.pid = -1;
  if (p.out_fd >= 0) close(p.out_fd);
  if (p.err_fd >= 0) close(p.err_fd);
  p.out_fd = p.err_fd = -1;
  return status;
}

namespace {

// A copy of `binary` that any user can run: the build tree may sit inside a directory only root
// can enter (a clone in a `mktemp -d` folder is 0700), and exec as another user then fails with
// 127. One copy per binary per process, removed when the process exits.
std::string runnable_by_anyone(const std::string& binary) {
  static std::map<std::string, std::string> copies;
  auto it = copies.find(binary);
  if (it != copies.end()) return it->second;
  std::string dir = make_temp_dir("ringkit-bin");
  ::chmod(dir.c_str(), 0755);
  std::string copy = dir + "/" + binary.substr(binary.find_last_of('/') + 1);
  std::error_code ec;
  std::filesystem::copy_file(binary, copy, ec);
  ::chmod(copy.c_str(), 0755);
  if (ec) return binary;
  static std::vector<std::string> to_remove;
  if (to_remove.empty()) std::atexit([] { for (const auto& d : to_remove) std::filesystem::remove_all(d); });
  to_remove.push_back(dir);
  return copies[binary] = copy;
}

}  // namespace

RunResult run_program_as(const std::vector<std::string>& argv_in, uid_t uid, gid_t gid) {
  std::vector<std::string> argv = argv_in;
  if (!argv.empty() && argv[0].find('/') != std::string::npos) argv[0] = runnable_by_anyone(argv[0]);
  Spawned p = spawn_program(argv, true, [uid, gid] {
    // Groups first: once the uid is dropped, changing them is no longer allowed.
    return setgroups(0, nullptr) == 0 && setresgid(gid, gid, gid) == 0 && setresuid(uid, uid, uid) == 0;
  });
  if (p.pid < 0) return {};
  return wait_program(p);
}

std::string make_temp_dir_in(const std::string& parent, const char* prefix) {
  std::string tmpl = parent + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp in " + parent);
  return tmpl;
}

bool is_ringsync_temp(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);  // npos + 1 == 0
  size_t mark = name.rfind(".~rk");
  return name.size() >= 11 && name[0] == '.' && mark != std::string::npos && mark > 1 && name.size() - mark == 10;
}

std::vector<std::string> half_written_files(const TreeState& dst, const std::vector<const TreeState*>& versions) {
  std::vector<std::string> out;
  for (const auto& [path, item] : dst) {
    if (item.type != 'f' || is_ringsync_temp(path)) continue;
    bool known = false;
    for (const TreeState* v : versions) {
      auto it = v->find(path);
      known |= it != v->end() && it->second.type == 'f' && it->second.size == item.size &&
               it->second.content_hash == item.content_hash;
    }
    if (!known) out.push_back(path + ": " + std::to_string(item.size) + " bytes, like no version of the source");
  }
  return out;
}

std::vector<std::string> temp_files(const TreeState& tree) {
  std::vector<std::string> out;
  for (const auto& [path, item] : tree) {
    if (is_ringsync_temp(path)) out.push_back(path);
  }
  return out;
}

namespace {
void remove_below(int dirfd) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
  DIR* d = fdopendir(fd);
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  for (const std::string& name : names) {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0) continue;
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (sub < 0) continue;
    ::fchmod(sub, 0700);  // tests leave mode-000 directories behind
    remove_below(sub);
    ::close(sub);
    ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
  }
}
}  // namespace

std::string indent_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

void remove_deep_tree(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0) {
    ::unlink(path.c_str());
    return;
  }
  remove_below(fd);
  ::close(fd);
  ::rmdir(path.c_str());
}

}  // namespace ringkit::testing
