#include "support/copy_runs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";
constexpr long long kMiB = 1 << 20;

// Deterministic bytes that differ by file, offset and version (no all-zero blocks).
std::string filler(const std::string& name, long long size, int version) {
  std::string s(static_cast<size_t>(size), '\0');
  uint32_t x = 2166136261u ^ static_cast<uint32_t>(version * 7919);
  for (char c : name) x = (x ^ static_cast<unsigned char>(c)) * 16777619u;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>((x >> 24) | 1);
  }
  return s;
}

void write_at(const std::string& path, const std::string& data, off_t offset) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path);
  if (::pwrite(fd, data.data(), data.size(), offset) != static_cast<ssize_t>(data.size())) {
    ::close(fd);
    throw std::runtime_error("pwrite " + path);
  }
  ::close(fd);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

const std::map<std::string, long long>& copy_tree_files() {
  static const std::map<std::string, long long> files = {
      {"empty", 0},
      {"one", 1},
      {"k1", 1024},
      {"k64p1", 64 * 1024 + 1},      // just past a heap buffer: a leased one
      {"k256", 256 * 1024},          // one ring chunk exactly
      {"k700", 700 * 1024 + 5},      // three ring chunks, still below "large"
      {"m1p7", kMiB + 7},            // large: one kernel-copy piece
      {"m5p3", 5 * kMiB + 3},        // two pieces
      {"sparse9", 9 * kMiB},         // data, a hole, written zeros, data, a hole at the end
  };
  return files;
}

bool is_large_copy_file(const std::string& name) { return copy_tree_files().at(name) >= kMiB; }

void build_copy_tree(const std::string& root, int version) {
  std::filesystem::create_directories(root + "/sub");
  for (const auto& [name, size] : copy_tree_files()) {
    std::string path = root + "/" + (name == "k700" ? "sub/" : "") + name;
    if (name == "sparse9") {
      write_at(path, filler(name, 100'000, version), 0);
      write_at(path, std::string(2 * kMiB, '\0'), 3 * kMiB);  // allocated zeros
      write_at(path, filler(name + "tail", 5000, version), 6 * kMiB + 123);
      if (::truncate(path.c_str(), size) != 0) throw std::runtime_error("truncate " + path);
    } else {
      write_at(path, filler(name, size, version), 0);
      if (size == 0 && ::truncate(path.c_str(), 0) != 0) throw std::runtime_error("truncate " + path);
    }
    timespec t[2] = {{1600000000 + version, 5}, {1600000000 + version, 5}};
    ::utimensat(AT_FDCWD, path.c_str(), t, 0);
  }
}

long long CopyRun::kernel_bytes() const {
  long long sum = 0;
  for (const Call& c : calls) sum += !c.clone && c.result > 0 ? c.result : 0;
  return sum;
}
int CopyRun::kernel_calls() const {
  int n = 0;
  for (const Call& c : calls) n += !c.clone;
  return n;
}
int CopyRun::clone_calls() const { return static_cast<int>(calls.size()) - kernel_calls(); }
int CopyRun::clones_done() const {
  int n = 0;
  for (const Call& c : calls) n += c.clone && c.result == 0;
  return n;
}

std::string CopyRun::describe() const {
  std::string out = "exit " + std::to_string(result.exit_code) + ", stderr: " + result.err + "\ncalls:";
  for (const Call& c : calls) {
    out += c.clone ? " ficlone=" + std::to_string(c.result)
                   : " cfr(" + std::to_string(c.length) + ")=" + std::to_string(c.result);
  }
  return out;
}

std::vector<std::string> ringsync_copy_argv(const std::string& backend, const std::string& method,
                                            const std::vector<std::string>& args,
                                            const std::vector<std::string>& shim_env, const std::string& log) {
  std::vector<std::string> argv = {"env", "-u", "RINGKIT_SYNC_COPY", "LD_PRELOAD=" + std::string(RINGKIT_COPY_SHIM),
                                   "RINGKIT_BACKEND=" + backend, "RINGKIT_SHIM_LOG=" + log};
  // Under ASan the preloaded shim comes before the sanitizer's runtime, which is fine here.
  const char* asan = std::getenv("ASAN_OPTIONS");
  argv.push_back("ASAN_OPTIONS=" + std::string(asan != nullptr ? asan : "") + (asan != nullptr ? ":" : "") +
                 "verify_asan_link_order=0");
  if (!method.empty()) argv.push_back("RINGKIT_SYNC_COPY=" + method);
  argv.insert(argv.end(), shim_env.begin(), shim_env.end());
  argv.push_back(kRingsync);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<CopyRun::Call> shim_calls(const std::string& log) {
  std::vector<CopyRun::Call> calls;
  std::istringstream in(read_all(log));
  std::string what;
  while (in >> what) {
    CopyRun::Call c;
    c.clone = what == "ficlone";
    if (!c.clone) in >> c.length;
    in >> c.result;
    calls.push_back(c);
  }
  return calls;
}

CopyRun run_ringsync_copy(const std::string& backend, const std::string& method, const std::vector<std::string>& args,
                          const std::vector<std::string>& shim_env) {
  char log[] = "/tmp/ringkit-shim-log-XXXXXX";
  int fd = ::mkstemp(log);
  if (fd < 0) throw std::runtime_error("mkstemp");
  ::close(fd);
  CopyRun run;
  run.result = run_program(ringsync_copy_argv(backend, method, args, shim_env, log));
  run.calls = shim_calls(log);
  ::unlink(log);
  return run;
}

std::vector<std::string> copy_differences(const std::string& expected, const std::string& actual) {
  SnapshotOptions what;
  what.nanoseconds = true;
  what.dir_times = false;  // about files; rsync 3.5.0 here does not keep the top directory's time
  std::vector<std::string> out = compare_trees(snapshot(expected), snapshot(actual), what);
  for (const auto& [name, size] : copy_tree_files()) {
    std::string rel = (name == "k700" ? "sub/" : "") + name;
    struct stat e {}, a {};
    if (::stat((expected + "/" + rel).c_str(), &e) != 0 || ::stat((actual + "/" + rel).c_str(), &a) != 0) continue;
    if (e.st_blocks != a.st_blocks) {
      out.push_back(rel + ": " + std::to_string(a.st_blocks) + " blocks allocated, the reference has " +
                    std::to_string(e.st_blocks));
    }
  }
  return out;
}

bool keeps_holes(const std::string& dir) {
  std::string probe = dir + "/.holes-probe";
  write_at(probe, "x", 8 * kMiB);
  struct stat st {};
  bool sparse = ::stat(probe.c_str(), &st) == 0 && st.st_blocks * 512 < st.st_size;
  ::unlink(probe.c_str());
  return sparse;
}

}  // namespace ringkit::testing
