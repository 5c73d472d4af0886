// ringtftp get and put: one transfer between a local file (or stdin/stdout) and the server.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "cli.h"
#include "local_file.h"
#include "progress.h"
#include "ringkit/executor.h"
#include "ringkit/fs.h"
#include "ringkit/log.h"
#include "tftp/netascii.h"

namespace ringtftp {

using namespace ringkit;
using tftp::ClientResult;

namespace {

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void print_failure(const std::string& what, const ClientResult& r) {
  if (r.failure == tftp::FailureKind::kServer && r.server_error) {
    std::fprintf(stderr, "ringtftp: %s: server error %u: %s\n", what.c_str(),
                 static_cast<unsigned>(r.server_error->code),
                 r.server_error->message.empty()
                     ? std::string(tftp::standard_message(r.server_error->code)).c_str()
                     : r.server_error->message.c_str());
    return;
  }
  std::fprintf(stderr, "ringtftp: %s: %s\n", what.c_str(), r.describe().c_str());
}

void print_summary(const char* verb, const ClientResult& r) {
  double seconds = std::chrono::duration<double>(r.duration).count();
  double rate = seconds > 0 ? static_cast<double>(r.bytes) / seconds : 0;
  std::string options;
  for (const auto& o : r.negotiated.oack()) {
    options += " " + std::string(tftp::option_name(o.id)) + "=" + std::to_string(o.value);
  }
  if (!r.oack) options = " none (no OACK: RFC 1350 defaults)";
  std::fprintf(stderr,
               "%s %llu bytes in %.3f s (%s/s) from %s\n"
               "  blksize %u, windowsize %u; options acknowledged:%s\n"
               "  %llu retransmits, %llu timeouts, %llu duplicates\n",
               verb, static_cast<unsigned long long>(r.bytes), seconds, human_bytes(rate).c_str(),
               r.server_tid.to_string().c_str(), r.negotiated.blksize, r.negotiated.windowsize,
               options.c_str(), static_cast<unsigned long long>(r.stats.retransmits),
               static_cast<unsigned long long>(r.stats.timeouts),
               static_cast<unsigned long long>(r.stats.duplicates));
}

// Engine notices (the threads fallback, say) only with -v; errors always.
void install_log_handler(int verbose) {
  set_log_handler([verbose](LogLevel level, std::string_view message) {
    if (level == LogLevel::kError || verbose > 0) {
      std::fprintf(stderr, "ringtftp: %.*s\n", static_cast<int>(message.size()), message.data());
    }
  });
}

Task<int> get_task(const CommonOptions& o, tftp::ClientRequest req, std::string local) {
  const bool to_stdout = local == "-";
  DownloadTarget target;
  int fd = STDOUT_FILENO;
  if (!to_stdout) {
    auto opened = co_await target.open(local);
    if (!opened) {
      std::fprintf(stderr, "ringtftp: %s: %s\n", local.c_str(), opened.error().message().c_str());
      co_return kExitLocal;
    }
    fd = target.fd();
  }
  tftp::FileSink sink(fd, req.mode == tftp::Mode::kNetascii);
  Progress progress(req.filename, !o.quiet);
  req.on_start = [&progress](const tftp::Negotiated& n, bool) { progress.set_total(n.tsize); };
  req.on_progress = [&progress](const tftp::TransferStats& s) { progress.update(s.bytes); };
  ClientResult result = co_await tftp::get(req, sink);
  progress.clear();
  if (!result.ok()) {
    if (!to_stdout) co_await target.abandon();
    print_failure(result.failure == tftp::FailureKind::kLocal ? local : req.filename, result);
    co_return exit_code_for(result);
  }
  if (!to_stdout) {
    auto committed = co_await target.commit();
    if (!committed) {
      co_await target.abandon();
      std::fprintf(stderr, "ringtftp: %s: %s\n", local.c_str(), committed.error().message().c_str());
      co_return kExitLocal;
    }
  }
  if (o.verbose > 0 && !o.quiet) print_summary("received", result);
  co_return kExitOk;
}

// All of a stream (stdin, a pipe): a put must be able to resend any unacknowledged block,
// which a stream cannot give twice.
Task<Result<std::vector<std::byte>>> slurp(int fd) {
  std::vector<std::byte> data;
  std::vector<std::byte> chunk(256 * 1024);
  for (;;) {
    auto n = co_await fs::read(fd, chunk, fs::kCurrentPosition);
    if (!n) co_return n.error();
    if (*n == 0) break;
    data.insert(data.end(), chunk.begin(), chunk.begin() + static_cast<long>(*n));
  }
  co_return data;
}

Task<Result<uint64_t>> netascii_size_of_file(int fd) {
  tftp::NetasciiSizeCounter counter;
  std::vector<std::byte> chunk(256 * 1024);
  uint64_t offset = 0;
  for (;;) {
    auto n = co_await fs::read(fd, chunk, offset);
    if (!n) co_return n.error();
    if (*n == 0) break;
    counter.add(std::span(chunk).first(*n));
    offset += *n;
  }
  co_return counter.size();
}

std::vector<std::byte> netascii_encode_all(std::span<const std::byte> data) {
  std::vector<std::byte> out(tftp::netascii_encoded_size(data));
  tftp::NetasciiEncoder encoder;
  auto step = encoder.encode(data, out);
  out.resize(step.produced);
  return out;
}

Task<int> put_task(const CommonOptions& o, tftp::ClientRequest req, std::string local) {
  const bool netascii = req.mode == tftp::Mode::kNetascii;
  fs::Fd file;
  std::vector<std::byte> memory;  // the whole upload (wire bytes) when it comes from a stream
  bool in_memory = true;
  uint64_t wire_size = 0;
  int fd = STDIN_FILENO;
  if (local != "-") {
    auto opened = co_await fs::openat(AT_FDCWD, local, O_RDONLY | O_CLOEXEC);
    if (!opened) {
      std::fprintf(stderr, "ringtftp: %s: %s\n", local.c_str(), opened.error().message().c_str());
      co_return kExitLocal;
    }
    file = std::move(*opened);
    fd = file.get();
    auto st = co_await fs::statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE);
    if (!st) {
      std::fprintf(stderr, "ringtftp: %s: %s\n", local.c_str(), st.error().message().c_str());
      co_return kExitLocal;
    }
    if (S_ISDIR(st->stx_mode)) {
      std::fprintf(stderr, "ringtftp: %s: Is a directory\n", local.c_str());
      co_return kExitLocal;
    }
    if (S_ISREG(st->stx_mode)) {
      in_memory = false;
      wire_size = st->stx_size;
      if (netascii && o.tsize) {
        auto counted = co_await netascii_size_of_file(fd);
        if (!counted) {
          std::fprintf(stderr, "ringtftp: %s: %s\n", local.c_str(), counted.error().message().c_str());
          co_return kExitLocal;
        }
        wire_size = *counted;
      }
    }
  }
  if (in_memory) {
    auto all = co_await slurp(fd);
    if (!all) {
      std::fprintf(stderr, "ringtftp: %s: %s\n", local == "-" ? "stdin" : local.c_str(),
                   all.error().message().c_str());
      co_return kExitLocal;
    }
    memory = netascii ? netascii_encode_all(*all) : std::move(*all);
    wire_size = memory.size();
  }
  if (o.tsize) req.options.tsize = wire_size;

  tftp::SourceFactory make_source = [&](size_t blksize) -> std::unique_ptr<tftp::BlockSource> {
    if (in_memory) return std::make_unique<tftp::MemorySource>(memory, blksize);
    if (netascii) return std::make_unique<tftp::NetasciiFileSource>(fd, blksize);
    return std::make_unique<tftp::OctetFileSource>(fd, blksize);
  };
  Progress progress(req.filename, !o.quiet);
  progress.set_total(wire_size);
  req.on_progress = [&progress](const tftp::TransferStats& s) { progress.update(s.bytes); };
  size_t packet = size_t{req.options.blksize.value_or(tftp::kDefaultBlockSize)} + tftp::kDataHeaderSize;
  BufferPool pool(*Executor::current(), 2, std::max<size_t>(256 * 1024, packet));
  ClientResult result = co_await tftp::put(req, make_source, pool);
  progress.clear();
  if (!result.ok()) {
    print_failure(result.failure == tftp::FailureKind::kLocal ? local : req.filename, result);
    co_return exit_code_for(result);
  }
  if (o.verbose > 0 && !o.quiet) print_summary("sent", result);
  co_return kExitOk;
}

// Resolves the server and builds the request; prints and returns an exit code on failure.
std::optional<int> prepare(const CommonOptions& o, const std::string& remote,
                           tftp::ClientRequest& req) {
  std::string message;
  auto server = resolve_server(o.host, &message);
  if (!server) {
    std::fprintf(stderr, "ringtftp: %s\n", message.c_str());
    return server.error() == std::errc::invalid_argument ? kExitUsage : kExitNetwork;
  }
  if (!make_request(o, *server, req, &message)) {
    std::fprintf(stderr, "ringtftp: %s\n", message.c_str());
    return kExitUsage;
  }
  req.filename = remote;
  return std::nullopt;
}

}  // namespace

int run_get(const CommonOptions& o, const std::string& remote, std::string local) {
  if (local.empty()) local = basename_of(remote);
  if (local.empty()) {
    std::fprintf(stderr, "ringtftp: cannot name the local file after '%s': give LOCAL\n", remote.c_str());
    return kExitUsage;
  }
  tftp::ClientRequest req;
  if (auto code = prepare(o, remote, req)) return *code;
  if (o.tsize) req.options.tsize = 0;
  install_log_handler(o.verbose);
  Executor executor(EngineSettings::from_env());
  return executor.run(get_task(o, std::move(req), std::move(local)));
}

int run_put(const CommonOptions& o, const std::string& local, std::string remote) {
  if (remote.empty()) {
    if (local == "-") {
      std::fprintf(stderr, "ringtftp: put from stdin needs REMOTE\n");
      return kExitUsage;
    }
    remote = basename_of(local);
  }
  tftp::ClientRequest req;
  if (auto code = prepare(o, remote, req)) return *code;
  install_log_handler(o.verbose);
  Executor executor(EngineSettings::from_env());
  return executor.run(put_task(o, std::move(req), local));
}

}  // namespace ringtftp
