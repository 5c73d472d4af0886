// ringtftp: a TFTP client (get, put) and load generator (bench) on the ringkit engine.
// The command line is CLI11's (a well-kept parser with subcommands and generated --help);
// the commands live in transfer_cmd.cc and bench_cmd.cc.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli.h"

namespace {

using namespace ringtftp;

constexpr const char* kExitCodes = R"(
Exit status:
  0  success (bench: every transfer verified)
  1  usage error (bench: also an open-file limit too low for --clients)
  2  the server refused with an ERROR packet (its code and message are printed)
  3  timeout or network failure: no answer, a socket error, or a server that broke the protocol
     (e.g. an OACK that raises blksize; it is answered with ERROR 8)
  4  local file error: LOCAL could not be read or written (a failed get leaves no LOCAL file)
  5  bench: some transfers failed or did not verify)";

constexpr const char* kExamples = R"(
Examples:
  ringtftp get 192.168.1.10 pxelinux.0
  ringtftp get tftp.example.net:6969 images/kernel.img /tmp/kernel --blksize 1428 --windowsize 16 --tsize
  ringtftp get [::1]:69 boot.ipxe - > boot.ipxe
  ringtftp put 127.0.0.1:6969 firmware.bin uploads/firmware.bin --tsize
  ringtftp bench 127.0.0.1:6969 file-1M --clients 1000 --blksize 1428 --windowsize 16 --json)";

// Raw values as CLI11 fills them; 0 / -1 mean "not given".
struct Raw {
  int blksize = 0;
  int windowsize = 0;
  int timeout = 0;
  int dally = -1;
};

void add_common(CLI::App* cmd, CommonOptions& o, Raw& raw) {
  cmd->add_option("--blksize", raw.blksize,
                  "ask for this block size, 8..65464 (RFC 2348). Default: not asked, 512 bytes. "
                  "1428 fits one Ethernet frame; larger blocks fragment")
      ->check(CLI::Range(8, 65464));
  cmd->add_option("--windowsize", raw.windowsize,
                  "ask for this many blocks per ACK, 1..65535 (RFC 7440). Default: not asked, 1 "
                  "(stop-and-wait). 16-64 fill a fast link; a loss then resends more")
      ->check(CLI::Range(1, 65535));
  cmd->add_flag("--tsize", o.tsize,
                "ask for the file size (get: shown in the progress line) or announce it (put), "
                "RFC 2349. Default: off");
  cmd->add_option("--timeout", raw.timeout,
                  "ask the server to resend after this many seconds, 1..255 (RFC 2349), and wait "
                  "at most as long ourselves. Default: not asked; our wait adapts to the "
                  "round-trip time from 1 s, backing off up to 5 s")
      ->check(CLI::Range(1, 255));
  cmd->add_option("--mode", o.mode, "octet (bytes as they are) or netascii (text: LF <-> CR LF)")
      ->capture_default_str()
      ->check(CLI::IsMember({"octet", "netascii"}, CLI::ignore_case));
  cmd->add_option("--retries", o.retries,
                  "resends of one packet before giving up (exit 3)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--loss", o.loss,
                  "drop this fraction of our sent and received datagrams (testing). Default 0")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--duplicate", o.duplicate, "send this fraction of our datagrams twice (testing)")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--reorder", o.reorder,
                  "hold back this fraction of our datagrams behind the next one (testing)")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--seed", o.seed, "seed of --loss/--duplicate/--reorder")->capture_default_str();
  cmd->add_option("--dally", raw.dally,
                  "get: milliseconds to linger after the last ACK, to answer a server that did "
                  "not hear it. Default 0, or 1000 with --loss/--duplicate/--reorder");
  cmd->add_flag("-v,--verbose", o.verbose, "say what was negotiated and how the transfer went");
  cmd->add_flag("-q,--quiet", o.quiet, "no progress line and no summary (errors are still printed)");
}

void apply(const Raw& raw, CommonOptions& o) {
  if (raw.blksize > 0) o.blksize = static_cast<uint16_t>(raw.blksize);
  if (raw.windowsize > 0) o.windowsize = static_cast<uint16_t>(raw.windowsize);
  if (raw.timeout > 0) o.timeout = static_cast<uint8_t>(raw.timeout);
  if (raw.dally >= 0) o.dally_ms = static_cast<uint32_t>(raw.dally);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringtftp: TFTP client and load generator (RFC 1350, 2347, 2348, 2349, 7440)"};
  app.footer(std::string(kExamples) + "\n" + kExitCodes);
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", "ringtftp 0.1 (ringkit)");

  CommonOptions o;
  Raw raw;
  std::string remote, local;

  auto* get = app.add_subcommand("get", "download REMOTE from HOST[:PORT] into LOCAL");
  get->add_option("host", o.host, "HOST[:PORT]: name, IPv4, or [IPv6]; port 69 unless given")->required();
  get->add_option("remote", remote, "the file's name on the server")->required();
  get->add_option("local", local,
                  "where to write it; default: the last component of REMOTE; '-': stdout. "
                  "Written to a temp file and renamed when complete");
  add_common(get, o, raw);
  get->footer(std::string(kExamples) + "\n" + kExitCodes);

  auto* put = app.add_subcommand("put", "upload LOCAL to HOST[:PORT] as REMOTE");
  put->add_option("host", o.host, "HOST[:PORT]: name, IPv4, or [IPv6]; port 69 unless given")->required();
  put->add_option("local", local, "the file to send; '-': stdin (read whole first)")->required();
  put->add_option("remote", remote, "the name on the server; default: the last component of LOCAL");
  add_common(put, o, raw);
  put->footer(std::string(kExamples) + "\n" + kExitCodes);

  BenchCommand bench_cmd;
  double duration = 0;
  auto* bench = app.add_subcommand(
      "bench", "N concurrent downloads of REMOTE, each verified by size and XXH3-64; reports "
               "throughput, completion-time percentiles, failures and retransmits");
  bench->add_option("host", o.host, "HOST[:PORT]")->required();
  bench->add_option("remote", bench_cmd.remote, "the file every client downloads")->required();
  bench->add_option("--clients", bench_cmd.clients, "concurrent downloads, 1..10000")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  bench->add_option("--threads", bench_cmd.threads,
                    "executors (one thread and ring each); default 0: one per core");
  bench->add_option("--expect-size", bench_cmd.expect_size,
                    "bytes every download must have; default: learned by one download first");
  bench->add_option("--expect-xxh3", bench_cmd.expect_xxh3,
                    "XXH3-64 (hex) every download must have; default: learned likewise");
  bench->add_option("--repeat", bench_cmd.repeat, "downloads per client, one after the other")
      ->capture_default_str();
  bench->add_option("--duration", duration,
                    "keep every client downloading for this many seconds (overrides --repeat)");
  bench->add_flag("--json", bench_cmd.json, "print the report as JSON on stdout");
  add_common(bench, o, raw);
  bench->footer(std::string(kExamples) + "\n" + kExitCodes);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  apply(raw, o);
  if (o.quiet) o.verbose = 0;
  if (get->parsed()) return run_get(o, remote, local);
  if (put->parsed()) return run_put(o, local, remote);
  if (duration > 0) bench_cmd.duration_s = duration;
  return run_bench(o, bench_cmd);
}
