#!/usr/bin/env python3
"""Runs the TFTP benchmarks and writes docs/benchmarks-tftp.md and docs/img/tftp-*.png.

  bench/run_tftp.py            full run (about 30 minutes; rounds adapt to the time left)
  bench/run_tftp.py --quick    smoke test: small files, few clients, one run each (1-2 minutes)

ringtftpd against tftpd-hpa (/usr/sbin/in.tftpd) and atftpd (0.8, unpacked under
/opt/ringkit-peers/atftpd), side by side in one run on this machine, every download made by the
same client, build/bin/ringtftp (and curl as a second client for one point):

  1. one 100 MiB download at blksize 512, 1428, 8192, 65464 x windowsize 1, 16, 64 on loopback
     (tftpd-hpa has no windowsize: windowsize 1 only, the rest n/a);
  2. 1 000 and 10 000 concurrent 1 MiB downloads (`ringtftp bench`, every download verified by
     size and XXH3): completion rate, aggregate throughput, completion-time p50/p99/max, server
     peak memory, memory growth per active transfer and server CPU seconds;
  3. 100 MiB at 1% and 5% loss, injected by the client (`ringtftp get --loss P --seed S`: it
     drops that fraction of the datagrams it sends and of those it receives), on loopback. netem
     would be the better tool, but this kernel is built without it (CONFIG_NET_SCH_NETEM unset).

Builds ringtftpd and ringtftp in Release into build-bench-tftp/ (tests and benchmarks off), makes
the files once under /dev/shm/ringkit-bench-tftp (tmpfs), runs every point several times with the
servers interleaved (round 1 of every point and server, then round 2, ...), and reports
min / median / max and ratios of medians. Every single download is compared with the source
file; `ringtftp bench` verifies each of its downloads itself. Each server runs in cgroups of its
own (cgroup v1 cpuacct and memory), so that its CPU time and peak memory include every process
it forks. Needs root (cgroups, /proc of the servers, RLIMIT_NOFILE raised to the hard limit for
10 000 clients).
Servers and workload files are removed at the end. Python 3 standard library only; plots need
gnuplot.
"""

import argparse
import datetime
import json
import os
import pickle
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from common.load import LoadSampler  # bench/ is on sys.path: the runners run as scripts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-bench-tftp")
BIN = os.path.join(BUILD, "bin")
CLIENT = os.path.join(BIN, "ringtftp")
DOCS = os.path.join(ROOT, "docs")
IMG = os.path.join(DOCS, "img")
WORK = "/dev/shm/ringkit-bench-tftp"
SRV = os.path.join(WORK, "srv")
OUT = os.path.join(WORK, "out")
HPA = "/usr/sbin/in.tftpd"
ATFTPD = "/opt/ringkit-peers/atftpd/usr/sbin/atftpd"
CG_CPU = "/sys/fs/cgroup/cpuacct"
CG_MEM = "/sys/fs/cgroup/memory"
CG_PREFIX = "rkbench-tftp-"
# Transfer ports of the servers that can be given a range (ringtftpd, tftpd-hpa: -R), below the
# ephemeral range (32768-60999 here) that the clients' sockets take theirs from. On loopback
# 10 000 clients and 10 000 transfers share one machine; Linux gives up on bind(port 0) once
# about half the ephemeral range is in use, which a real server, whose clients are other
# machines, never meets. atftpd has no such option: its transfers share the ephemeral range.
PORT_RANGE = "12000:31999"
SERVERS = ["ringtftpd", "atftpd", "tftpd-hpa"]
WINDOWED = {"ringtftpd": True, "atftpd": True, "tftpd-hpa": False}  # RFC 7440 support
COLORS = {"ringtftpd": 0x4477aa, "atftpd": 0xee7733, "tftpd-hpa": 0x888888}
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
TICK = os.sysconf("SC_CLK_TCK")
T0 = time.monotonic()
MB = 1e6  # throughput in MB/s (10^6 bytes), as ringtftp bench reports it


def log(msg):
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(values):
    return min(values), statistics.median(values), max(values)


def fmt(x, digits=3):
    if x is None or x != x:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def git_state():
    """The commit measured, and whether the TFTP code had uncommitted changes at the time."""
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "include"],
                           capture_output=True, text=True).stdout.split("\n")
    dirty = [l[3:] for l in dirty if l.strip()]
    if not dirty:
        return f"commit {rev}"
    return f"commit {rev} + uncommitted changes in {', '.join(dirty[:6])}{' ...' if len(dirty) > 6 else ''}"


# ---------------------------------------------------------------------------------------------
# /proc

def read_proc(pid, name):
    try:
        with open(f"/proc/{pid}/{name}") as f:
            return f.read()
    except OSError:
        return ""


def read_proc_file(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def children(pid):
    """Child processes of pid (every thread's list; in.tftpd has one thread)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        out += [int(c) for c in read_proc(pid, f"task/{tid}/children").split()]
    return out


def cpu_seconds(pid):
    """utime + stime of the process (every thread, live or exited) and of its reaped children."""
    text = read_proc(pid, "stat")
    if not text:
        return None
    f = text[text.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / TICK


def status_kib(pid, key):
    for line in read_proc(pid, "status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def rss_kib(pid):
    f = read_proc(pid, "statm").split()
    return int(f[1]) * PAGE_KIB if f else 0


def pss_kib(pid):
    for line in read_proc(pid, "smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


def udp_rcvbuf_errors():
    """Datagrams the kernel dropped because a socket's receive buffer was full (all sockets)."""
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


# ---------------------------------------------------------------------------------------------
# Servers

RING_CONFIG = """# Written by bench/run_tftp.py. Every client of the benchmark is 127.0.0.1, so the limit per
# client address (default 64) would turn 10 000 clients into a queue; no other change from the
# defaults except quieter logging (one line per transfer to a pipe costs what the peers, which do
# not log transfers unless -v, do not pay).
[limits]
max_sessions = 0
max_sessions_per_client = 0
shutdown_grace_s = 2
[logging]
level = "warning"
transfers = false
"""


def own_memory_cgroup():
    """The memory cgroup this process is in (servers get child cgroups of it)."""
    for line in read_proc("self", "cgroup").splitlines():
        _, ctrl, path = line.split(":", 2)
        if "memory" in ctrl.split(","):
            return CG_MEM + path.rstrip("/")
    return CG_MEM


class Cgroup:
    """A cpuacct and a memory cgroup (v1) for one server and everything it forks: CPU time of
    processes that have exited is kept, and the memory peak is the kernel's own. `ok` is False
    when cgroups cannot be made here; callers then fall back to /proc."""

    seq = 0

    def __init__(self, kind):
        Cgroup.seq += 1
        name = f"{CG_PREFIX}{kind}-{os.getpid()}-{Cgroup.seq}"
        self.cpu_dir = os.path.join(CG_CPU, name)
        self.mem_dir = os.path.join(own_memory_cgroup(), name)
        try:
            os.mkdir(self.cpu_dir)
            os.mkdir(self.mem_dir)
            self.ok = True
        except OSError:
            self.ok = False
            self.remove()

    def enter(self):
        """Moves the calling process in (called in the server's child before exec)."""
        if self.ok:
            for d in (self.cpu_dir, self.mem_dir):
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write("0")

    def read(self, d, name):
        try:
            with open(os.path.join(d, name)) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cpu_s(self):
        v = self.read(self.cpu_dir, "cpuacct.usage") if self.ok else None
        return v / 1e9 if v is not None else None

    def mem_kib(self):
        v = self.read(self.mem_dir, "memory.usage_in_bytes") if self.ok else None
        return v / 1024 if v is not None else None

    def peak_kib(self):
        v = self.read(self.mem_dir, "memory.max_usage_in_bytes") if self.ok else None
        return v / 1024 if v is not None else None

    def reset_peak(self):
        if self.ok:
            try:
                with open(os.path.join(self.mem_dir, "memory.max_usage_in_bytes"), "w") as f:
                    f.write("0")
            except OSError:
                pass

    def remove(self):
        # processes left behind (a tftpd-hpa child of a killed server) are killed by pid first
        for pid in (read_proc_file(os.path.join(self.cpu_dir, "cgroup.procs")) or "").split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        for d in (self.cpu_dir, self.mem_dir):
            for _ in range(50):  # a cgroup can be removed once its last process is gone
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


class Server:
    """One TFTP server process serving SRV on 127.0.0.1, started in its own process group and
    cgroups, and killed with that group."""

    def __init__(self, kind, maxthread=None):
        self.kind, self.maxthread = kind, maxthread
        self.port = None
        self.metrics = None
        self.proc = None
        self.cg = None

    def argv(self):
        addr = f"127.0.0.1:{self.port}"
        if self.kind == "ringtftpd":
            return [os.path.join(BIN, "ringtftpd"), "-L", "-a", addr, "-u", "root", "--config",
                    os.path.join(WORK, "ringtftpd.toml"), "--metrics", f"127.0.0.1:{self.metrics}",
                    "-R", PORT_RANGE, SRV]
        if self.kind == "tftpd-hpa":
            return [HPA, "-L", "-a", addr, "-u", "root", "-R", PORT_RANGE, "-s", SRV]
        return [ATFTPD, "--daemon", "--no-fork", "--port", str(self.port), "--bind-address",
                "127.0.0.1", "--user", "root.root", "--logfile", "/dev/null",
                "--maxthread", str(self.maxthread or 100), SRV]

    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        for _ in range(5):
            self.port = free_port()
            self.metrics = free_port(socket.SOCK_STREAM)
            self.cg = Cgroup(self.kind)
            self.log = open(os.path.join(WORK, f"{self.kind}.log"), "a")
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=self.log, start_new_session=True,
                                         preexec_fn=self.cg.enter)
            if self.wait_ready():
                time.sleep(0.2)  # let the probe's transfer end (tftpd-hpa's child exits)
                return self
            self.stop()
        raise RuntimeError(f"{self.kind} did not start (see {WORK}/{self.kind}.log)")

    def wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            p = subprocess.run([CLIENT, "get", self.host(), "probe", os.path.join(OUT, "probe"),
                                "-q", "--timeout", "1", "--retries", "1"], capture_output=True)
            if p.returncode == 0:
                return True
            time.sleep(0.2)
        return False

    def pid(self):
        return self.proc.pid

    def cpu(self):
        """CPU seconds so far: the cgroup's (every process it ever held), else /proc."""
        v = self.cg.cpu_s() if self.cg else None
        return v if v is not None else cpu_seconds(self.pid())

    def active(self):
        """Transfers running now: ringtftpd's counter, atftpd's threads - 1, tftpd-hpa's children."""
        if self.kind == "ringtftpd":
            return int(self.counters().get("ringtftpd_active_transfers", 0)) or None
        if self.kind == "atftpd":
            t = status_kib(self.pid(), "Threads")
            return t - 1 if t else None
        return len(children(self.pid()))

    def counters(self):
        """ringtftpd's Prometheus counters (name -> value), {} for the peers."""
        if self.kind != "ringtftpd":
            return {}
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=2) as r:
                out = {}
                for line in r.read().decode().splitlines():
                    if line and not line.startswith("#"):
                        k, v = line.rsplit(" ", 1)
                        out[k] = float(v)
                return out
        except (OSError, ValueError):
            return {}

    def wait_children_gone(self, timeout=15):
        deadline = time.monotonic() + timeout
        while self.kind == "tftpd-hpa" and children(self.pid()) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        if self.proc:
            # tftpd-hpa's children are in the group too; a SIGKILL of the group catches stragglers
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.log.close()
        if self.cg:
            self.cg.remove()
        self.proc = self.cg = None


class MemorySampler:
    """Samples a server's memory every `period` s during a run. One process (ringtftpd, atftpd):
    VmRSS, and VmHWM read at the end is the exact peak. tftpd-hpa forks one process per transfer:
    the sum over the parent and its children of RSS (counts shared pages once per process: an
    upper bound) and of PSS (shared pages divided among the processes that map them: the memory
    the server really holds), PSS estimated from up to 40 children read per sample (reading
    smaps_rollup of 10 000 processes each time would itself load the machine)."""

    def __init__(self, server, period=1.0):
        self.server, self.period = server, period
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_active = 0
        self.peak_fds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        pid = self.server.pid()
        active = self.server.active()
        if active is not None:
            self.peak_active = max(self.peak_active, active)
        if self.server.kind != "tftpd-hpa":
            self.peak_rss = max(self.peak_rss, rss_kib(pid))
            try:
                self.peak_fds = max(self.peak_fds, len(os.listdir(f"/proc/{pid}/fd")))
            except OSError:
                pass
            return
        kids = children(pid)
        rss = rss_kib(pid) + sum(rss_kib(c) for c in kids)
        some = random.sample(kids, min(40, len(kids)))
        pss = [p for p in (pss_kib(c) for c in some) if p is not None]
        est = (pss_kib(pid) or 0) + (statistics.mean(pss) * len(kids) if pss else 0)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, est)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------------------------
# Running a client

def run_client(argv, cap_s):
    """Runs a client with a time cap; (exit code or None if capped, wall s, CPU s, stdout)."""
    t = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    timer = threading.Timer(cap_s, lambda: os.killpg(p.pid, signal.SIGKILL))
    timer.start()
    out, err = p.communicate()
    wall = time.monotonic() - t
    capped = not timer.is_alive() and p.returncode == -signal.SIGKILL
    timer.cancel()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # cumulative; callers take differences
    return (None if capped else p.returncode), wall, ru.ru_utime + ru.ru_stime, out, err


class ClientCpu:
    """CPU seconds of the clients run since the last call (RUSAGE_CHILDREN differences; server
    processes are reaped only when they are stopped, between measurements)."""

    def __init__(self):
        self.last = self.now()

    @staticmethod
    def now():
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime


def same_file(a, b):
    return subprocess.run(["cmp", "-s", a, b]).returncode == 0


FAILURES = []  # (section, point, what happened, command)
CPU_SINGLE = {}  # single-download point -> median (wall s, server CPU s, client CPU s)


# ---------------------------------------------------------------------------------------------
# Time budget: rounds are added while the next one is predicted to fit before the section's
# deadline (a share of the whole budget; what one section leaves over goes to the next).

class Budget:
    def __init__(self, total_s, shares):
        self.t0 = time.monotonic()
        self.total_s = total_s
        self.deadlines = {}
        acc = 0.0
        for name, share in shares:
            acc += share
            self.deadlines[name] = acc

    def left(self, section):
        return self.t0 + self.deadlines[section] * self.total_s - time.monotonic()

    def over(self):
        return time.monotonic() - self.t0 > self.total_s


def rounds_loop(section, budget, runs_wanted, runs_min, body):
    """Calls body(round) for round 0, 1, ... up to runs_wanted; stops early (but not before
    runs_min) when the next round is not predicted to fit in the section's time. Returns
    (rounds done, note)."""
    done, durations = 0, []
    for r in range(runs_wanted):
        # Beyond the minimum, a round must fit in the section's time; below it (except for the
        # single downloads, which need their 5 runs) one round is enough once the whole run is
        # already over its budget, so that the run still ends near its budget.
        late = section != "single" and done >= 1 and budget.left(section) < 0 and budget.over()
        if (done >= runs_min or late) and durations and budget.left(section) < statistics.median(durations):
            return done, (f"{done} of {runs_wanted} rounds: one round takes "
                          f"{statistics.median(durations):.0f} s and the section's time was up")
        t = time.monotonic()
        body(r)
        durations.append(time.monotonic() - t)
        done += 1
        log(f"{section}: round {done} of {runs_wanted} took {durations[-1]:.0f} s "
            f"({budget.left(section):.0f} s left in the section)")
    return done, ""


# ---------------------------------------------------------------------------------------------
# 1. One large download

def single_points(quick):
    blks = [512, 1428, 8192, 65464]
    wins = [1, 16, 64]
    pts = [(b, w, s, "ringtftp") for b in blks for w in wins for s in SERVERS if w == 1 or WINDOWED[s]]
    pts += [(1428, 1, s, "curl") for s in SERVERS]
    return pts


def client_argv(client, host, remote, local, blksize, windowsize):
    if client == "curl":
        return ["curl", "-sS", "--tftp-blksize", str(blksize), "-o", local, f"tftp://{host}/{remote}"]
    argv = [CLIENT, "get", host, remote, local, "-q", "--blksize", str(blksize)]
    if windowsize > 1:
        argv += ["--windowsize", str(windowsize)]
    return argv


def run_single(quick, budget, fname, size):
    """Every (blksize, windowsize, server, client) point, interleaved by round."""
    servers = {k: Server(k).start() for k in SERVERS}
    pts = single_points(quick)
    res = {p: [] for p in pts}  # point -> [(seconds, server CPU s, client CPU s)]
    capped = {}  # point -> cap: a point that hit its cap once is not run again (a bound is all it gives)
    local = os.path.join(OUT, "single")
    cap = 30 if quick else 60

    def one_round(r):
        order = pts[r % len(pts):] + pts[:r % len(pts)]  # rotate the start: no fixed position
        for p in order:
            if p in capped:
                continue
            b, w, s, client = p
            srv = servers[s]
            argv = client_argv(client, srv.host(), fname, local, b, w)
            c0 = srv.cpu()
            k0 = ClientCpu.now()
            rc, wall, _, out, err = run_client(argv, cap)
            c1 = srv.cpu()
            kcpu = ClientCpu.now() - k0
            ok = rc == 0 and os.path.exists(local) and same_file(local, os.path.join(SRV, fname))
            if ok:
                res[p].append((wall, c1 - c0, kcpu))
            elif rc is None:
                capped[p] = cap
                log(f"single {p}: capped at {cap} s")
            else:
                what = f"exit {rc}: {err.strip()[-200:]}"
                if rc == 0:
                    what = "downloaded file differs from the source"
                FAILURES.append(("single", p, what, " ".join(argv)))
                log(f"FAILED single {p}: {what}")
            if os.path.exists(local):
                os.remove(local)

    runs, note = rounds_loop("single", budget, 1 if quick else 5, 1 if quick else 5, one_round)
    for s in servers.values():
        s.stop()
    return res, runs, note, capped


def report_single(res, runs, note, size, capped):
    md = ["## 1. One download of %s" % human(size), "",
          f"`ringtftp get` (and `curl` at blksize 1428) from each server on loopback, the file on "
          f"tmpfs, written to tmpfs and compared with the source after every run. Seconds are the "
          f"client's wall time from exec to exit; MB/s = 10^6 bytes/s. tftpd-hpa does not "
          f"implement windowsize (RFC 7440): only windowsize 1 is run against it. Server CPU is "
          f"the server's cpuacct cgroup usage across the download, client CPU the client's "
          f"utime+stime; on these 2 vCPUs one transfer runs on one server thread and one client "
          f"thread, so a side whose CPU time approaches the wall time is what bounds the point. "
          f"Each download is capped at "
          f"{next(iter(capped.values()), 60)} s; a point that hits the cap is not run again and "
          f"is given as an upper bound (size / cap). "
          f"{runs} runs per point" + (f" ({note})" if note else "") + ".", ""]
    md += ["| blksize | windowsize | client | server | runs | min MB/s | median MB/s | max MB/s | "
           "median s | median server CPU s | median client CPU s | ratio ringtftpd / this |",
           "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    med = {}
    for p, v in res.items():
        if v:
            med[p] = statistics.median(size / MB / x[0] for x in v)
            CPU_SINGLE[p] = tuple(statistics.median(x[i] for x in v) for i in range(3))
    for p in sorted(res, key=lambda p: (p[3] != "ringtftp", p[0], p[1], SERVERS.index(p[2]))):
        b, w, s, client = p
        v = res[p]
        if not v and p in capped:
            bound = size / MB / capped[p]
            med[p] = bound
            md.append(f"| {b} | {w} | {client} | {s} | 0 (+1 capped) | | **< {fmt(bound)}** | | > {capped[p]} | | | |")
            continue
        if not v:
            md.append(f"| {b} | {w} | {client} | {s} | 0 | FAILED | | | | | | |")
            continue
        extra = " (+1 capped)" if p in capped else ""
        lo, m, hi = summary([size / MB / x[0] for x in v])
        ring = med.get((b, w, "ringtftpd", client))
        ratio = f"{ring / m:.2f}" if ring and s != "ringtftpd" else ("1.00" if s == "ringtftpd" else "n/a")
        md.append(f"| {b} | {w} | {client} | {s} | {len(v)}{extra} | {fmt(lo)} | **{fmt(m)}** | {fmt(hi)} | "
                  f"{statistics.median(x[0] for x in v):.2f} | {statistics.median(x[1] for x in v):.2f} | "
                  f"{statistics.median(x[2] for x in v):.2f} | {ratio} |")
    md += [""]
    # compact matrix
    md += ["Medians, MB/s (n/a: the server lacks windowsize):", "",
           "| blksize | windowsize | ringtftpd | atftpd | tftpd-hpa | ringtftpd / atftpd | ringtftpd / tftpd-hpa |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for b in (512, 1428, 8192, 65464):
        for w in (1, 16, 64):
            r, a, h = (med.get((b, w, s, "ringtftp")) for s in SERVERS)
            lt = lambda s: "< " if (b, w, s, "ringtftp") in capped and not res[(b, w, s, "ringtftp")] else ""
            md.append(f"| {b} | {w} | {lt('ringtftpd')}{fmt(r)} | {lt('atftpd')}{fmt(a)} | {lt('tftpd-hpa')}{fmt(h)} | "
                      f"{f'{r / a:.2f}' if r and a else 'n/a'} | {f'{r / h:.2f}' if r and h else 'n/a'} |")
    md += [""]
    groups = [f"{b}/{w}" for b in (512, 1428, 8192, 65464) for w in (1, 16, 64)] + ["curl 1428/1"]
    vals = {}
    for (b, w, s, client), v in res.items():
        if v:
            g = f"{b}/{w}" if client == "ringtftp" else "curl 1428/1"
            vals[(g, s)] = summary([size / MB / x[0] for x in v])
    img = plot_groups("tftp-single", f"One {human(size)} download on loopback (blksize/windowsize; bars: median, whiskers: min-max)",
                      "MB/s", groups, SERVERS, vals, logscale=True)
    if img:
        md += [f"![one download]({img})", ""]
    return md, med


def human(n):
    return f"{n // (1 << 20)} MiB" if n >= 1 << 20 else f"{n // 1024} KiB"


# ---------------------------------------------------------------------------------------------
# 2. Many concurrent downloads

def run_concurrent(quick, budget, section, clients, windowsize, fname, size, xxh3, runs_wanted, runs_min,
                   servers=SERVERS):
    """`ringtftp bench` with `clients` concurrent downloads against a fresh server per run."""
    res = {s: [] for s in servers}
    cap = 120 if quick else (240 if clients > 5000 else 150)

    def one_round(r):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        for s in order:
            srv = Server(s, maxthread=clients + 100).start()
            idle = rss_kib(srv.pid())
            mem = MemorySampler(srv, period=1.0)
            mem.sample()
            idle_pss = mem.peak_pss if s == "tftpd-hpa" else idle
            mem.peak_rss = mem.peak_pss = 0
            cg_idle = srv.cg.mem_kib()
            srv.cg.reset_peak()
            c0 = srv.cpu()
            drops0 = udp_rcvbuf_errors()
            ctr0 = srv.counters()
            argv = [CLIENT, "bench", srv.host(), fname, "--clients", str(clients), "--blksize", "1428",
                    "--expect-size", str(size), "--expect-xxh3", xxh3, "--json", "-q"]
            if windowsize > 1:
                argv += ["--windowsize", str(windowsize)]
            mem.start()
            k0 = ClientCpu.now()
            rc, wall, _, out, err = run_client(argv, cap)
            kcpu = ClientCpu.now() - k0
            mem.stop()
            srv.wait_children_gone()
            c1 = srv.cpu()
            ctr1 = srv.counters()
            hwm = status_kib(srv.pid(), "VmHWM") or 0
            cg_peak = srv.cg.peak_kib()
            drops = udp_rcvbuf_errors() - drops0
            srv.stop()
            rec = {"server": s, "rc": rc, "wall": wall, "client_cpu": kcpu, "server_cpu": c1 - c0,
                   "idle_kib": idle, "idle_pss_kib": idle_pss, "hwm_kib": hwm,
                   "peak_rss_kib": mem.peak_rss, "peak_pss_kib": mem.peak_pss,
                   "cg_idle_kib": cg_idle, "cg_peak_kib": cg_peak,
                   "peak_active": mem.peak_active, "peak_fds": mem.peak_fds, "rcvbuf_drops": drops,
                   "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
                   "server_retransmits": ctr1.get("ringtftpd_retransmits_total", 0) - ctr0.get("ringtftpd_retransmits_total", 0) if ctr0 else None,
                   "server_timeouts": ctr1.get("ringtftpd_timeouts_total", 0) - ctr0.get("ringtftpd_timeouts_total", 0) if ctr0 else None,
                   "server_failed": ctr1.get("ringtftpd_transfers_failed_total", 0) - ctr0.get("ringtftpd_transfers_failed_total", 0) if ctr0 else None}
            try:
                rec["bench"] = json.loads(out)
            except ValueError:
                rec["bench"] = None
            with open(os.path.join(BUILD, "tftp-concurrent-runs.jsonl"), "a") as f:
                f.write(json.dumps({"clients": clients, "windowsize": windowsize, **rec}) + "\n")
            res[s].append(rec)
            b = rec["bench"]
            if rc != 0 or not b or b.get("failed"):
                what = ("capped at %d s" % cap if rc is None else
                        f"exit {rc}; {b.get('completed') if b else '?'} of {clients} verified; "
                        f"first failures {(b or {}).get('first_failures', [])[:3]}; {err.strip()[-200:]}")
                FAILURES.append((section, (clients, windowsize, s), what, " ".join(argv)))
                log(f"FAILED {section} {s}: {what}")
            log(f"{section} {s}: {wall:.1f} s, {b and b.get('mb_per_s', 0):.1f} MB/s, "
                f"peak active {mem.peak_active}, server CPU {c1 - c0:.1f} s")

    runs, note = rounds_loop(section, budget, runs_wanted, runs_min, one_round)
    return res, runs, note


def conc_metrics(rec, clients, size):
    """Per-run figures; None where the run gave none."""
    b = rec["bench"] or {}
    completed = b.get("completed", 0) if rec["rc"] is not None else 0
    kind = rec["server"]
    peak = rec["peak_pss_kib"] if kind == "tftpd-hpa" else rec["hwm_kib"]
    idle = rec["idle_pss_kib"] if kind == "tftpd-hpa" else rec["idle_kib"]
    active = rec["peak_active"] or clients
    cm = b.get("completion_ms", {})
    return {
        "rate": completed / clients,
        "mbps": b.get("mb_per_s") if rec["rc"] is not None and completed else None,
        "p50": cm.get("p50", NAN) / 1000, "p99": cm.get("p99", NAN) / 1000, "max": cm.get("max", NAN) / 1000,
        "peak_mib": peak / 1024, "per_transfer_kib": (peak - idle) / min(active, clients),
        "cg_peak_mib": rec["cg_peak_kib"] / 1024 if rec.get("cg_peak_kib") is not None else None,
        "cg_per_transfer_kib": (rec["cg_peak_kib"] - rec["cg_idle_kib"]) / min(active, clients)
        if rec.get("cg_peak_kib") is not None and rec.get("cg_idle_kib") is not None else None,
        "rss_sum_mib": rec["peak_rss_kib"] / 1024,
        "cpu": rec["server_cpu"], "client_cpu": rec["client_cpu"], "active": rec["peak_active"],
        "fds": rec.get("peak_fds") or None,
        "drops": rec["rcvbuf_drops"], "retrans": b.get("retransmits"), "timeouts": b.get("timeouts"),
        "srv_retrans": rec.get("server_retransmits"), "wall": rec["wall"],
        "busy": (rec["server_cpu"] + rec["client_cpu"]) / (os.cpu_count() * rec["wall"]),
    }


NAN = float("nan")


def med_of(rows, key):
    v = [r[key] for r in rows if r[key] is not None and r[key] == r[key]]
    return summary(v) if v else (NAN, NAN, NAN)


def report_concurrent(all_res, size):
    """all_res: [(clients, windowsize, res, runs, note)]."""
    md = ["## 2. Many concurrent downloads of %s" % human(size), "",
          "`ringtftp bench HOST file --clients N --blksize 1428 [--windowsize W] --expect-size S "
          "--expect-xxh3 H`: N downloads started at once from one process (2 threads, one ring "
          "each), each verified by size and XXH3-64; throughput = N x size / wall time of the "
          "whole bench. A fresh server per run: idle memory is read after one probe download, the "
          "peak during the run. **ringtftpd, atftpd**: one process; peak = VmHWM (exact), growth "
          "per transfer = (VmHWM - idle VmRSS) / peak active transfers (ringtftpd's "
          "`ringtftpd_active_transfers` counter, atftpd's thread count - 1, sampled every "
          "second). **tftpd-hpa** forks a process per transfer: its memory is sampled every "
          "second over the parent and all its children (/proc/PID/task/*/children) as the sum of "
          "PSS (shared pages divided among the processes mapping them; the mean PSS of up to 40 "
          "children read per sample times the number of children) and, as an upper bound, the "
          "sum of RSS; growth per transfer = (peak PSS sum - idle PSS) / peak children. CPU s = "
          "the server's cpuacct cgroup usage before/after the run (every process it forked, "
          "those that exited included; tftpd-hpa's children are waited for first). **cgroup "
          "peak**: memory.max_usage_in_bytes of the server's own memory cgroup (v1), reset after "
          "the idle reading: what the kernel charged to the server, its processes' pages and "
          "kernel memory (page tables, stacks) alike; per transfer = (peak - idle) / peak active. atftpd's thread limit (`--maxthread`, "
          "default 100) is raised to N + 100 for these runs; ringtftpd's limit per client "
          "address is lifted (every client here is 127.0.0.1). ringtftpd and tftpd-hpa take "
          f"their transfer ports from `-R {PORT_RANGE}`, below the ephemeral range the client's "
          "10 000 sockets use (Linux refuses bind(port 0) once about half of that range is "
          "taken; a real server's clients are other machines); atftpd has no such option. Peak "
          "fds = open descriptors of the server process (sampled; RLIMIT_NOFILE is "
          f"{resource.getrlimit(resource.RLIMIT_NOFILE)[1]}, the hard limit, which cannot be "
          "raised here). UDP drops = the kernel's RcvbufErrors (all sockets, client's included) "
          "during the run. CPU busy = (server CPU + client CPU) / (vCPUs x wall time): near 100% "
          "the two processes together are bound by this machine's CPUs, and a server can only "
          "gain by costing less than the one it is compared with.", ""]
    headline = {}
    for clients, w, res, runs, note in all_res:
        md += [f"### {clients} clients, blksize 1428, windowsize {w}" +
               (" (asked; tftpd-hpa runs windowsize 1)" if w > 1 and "tftpd-hpa" in res else ""), "",
               f"{runs} runs per server" + (f" ({note})" if note else "") + ".", ""]
        md += ["| server | runs | verified | MB/s min / **median** / max | completion p50 / p99 / max s (median) | "
               "server peak MiB | per active transfer KiB | cgroup peak MiB | cgroup per transfer KiB | "
               "peak active | peak fds | server CPU s | client CPU s | CPU busy | client retransmits / timeouts | UDP drops |",
               "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
        for s, recs in res.items():
            rows = [conc_metrics(r, clients, size) for r in recs]
            if not rows:
                continue
            rate = statistics.median(r["rate"] for r in rows)
            lo, m, hi = med_of(rows, "mbps")
            headline[(clients, w, s)] = {"mbps": m, "rate": min(r["rate"] for r in rows),
                                         "per": med_of(rows, "per_transfer_kib")[1],
                                         "cg_per": med_of(rows, "cg_per_transfer_kib")[1],
                                         "peak": med_of(rows, "peak_mib")[1], "cpu": med_of(rows, "cpu")[1],
                                         "p99": med_of(rows, "p99")[1], "rows": rows,
                                         "client_cpu": med_of(rows, "client_cpu")[1],
                                         "busy": med_of(rows, "busy")[1], "wall": med_of(rows, "wall")[1]}
            peak = med_of(rows, "peak_mib")[1]
            rss_note = f" (RSS sum {med_of(rows, 'rss_sum_mib')[1]:.0f})" if s == "tftpd-hpa" else ""
            md.append(
                f"| {s} | {len(rows)} | {100 * min(r['rate'] for r in rows):.2f}% (min) | {fmt(lo)} / **{fmt(m)}** / {fmt(hi)} | "
                f"{fmt(med_of(rows, 'p50')[1])} / {fmt(med_of(rows, 'p99')[1])} / {fmt(med_of(rows, 'max')[1])} | "
                f"{peak:.1f}{rss_note} | {fmt(med_of(rows, 'per_transfer_kib')[1])} | "
                f"{fmt(med_of(rows, 'cg_peak_mib')[1])} | {fmt(med_of(rows, 'cg_per_transfer_kib')[1])} | "
                f"{fmt(med_of(rows, 'active')[1])} | {fmt(med_of(rows, 'fds')[1])} | {fmt(med_of(rows, 'cpu')[1])} | {fmt(med_of(rows, 'client_cpu')[1])} | "
                f"{100 * med_of(rows, 'busy')[1]:.0f}% | "
                f"{fmt(med_of(rows, 'retrans')[1])} / {fmt(med_of(rows, 'timeouts')[1])} | {fmt(med_of(rows, 'drops')[1])} |")
        ring = headline.get((clients, w, "ringtftpd"))
        peers = [(s, headline[(clients, w, s)]["mbps"]) for s in res if s != "ringtftpd" and (clients, w, s) in headline]
        if ring and peers:
            md += ["", "Ratios of medians: " + ", ".join(
                f"ringtftpd / {s} = {ring['mbps'] / v:.2f}x throughput" for s, v in peers if v == v and v) + "."]
        srv_r = med_of([conc_metrics(r, clients, size) for r in res.get("ringtftpd", [])], "srv_retrans")[1]
        if srv_r == srv_r:
            md += [f"ringtftpd's own counters: {srv_r:.0f} DATA retransmits per run (median)."]
        md += [""]
    groups = [f"{c} clients ws{w}" for c, w, *_ in all_res]
    vals = {(f"{c} clients ws{w}", s): med_of([conc_metrics(r, c, size) for r in res[s]], "mbps")
            for c, w, res, *_ in all_res for s in res if res[s]}
    img = plot_groups("tftp-concurrent", f"Concurrent {human(size)} downloads, blksize 1428: aggregate throughput",
                      "MB/s", groups, SERVERS, vals)
    if img:
        md += [f"![concurrent throughput]({img})", ""]
    vals = {(f"{c} clients ws{w}", s): med_of([conc_metrics(r, c, size) for r in res[s]], "peak_mib")
            for c, w, res, *_ in all_res for s in res if res[s]}
    img = plot_groups("tftp-concurrent-memory", "Server peak memory (MiB; tftpd-hpa: PSS summed over its processes)",
                      "MiB", groups, SERVERS, vals, logscale=True)
    if img:
        md += [f"![concurrent memory]({img})", ""]
    vals = {(f"{c} clients ws{w}", s): med_of([conc_metrics(r, c, size) for r in res[s]], "p99")
            for c, w, res, *_ in all_res for s in res if res[s]}
    img = plot_groups("tftp-concurrent-p99", "Completion time p99 (s)", "s", groups, SERVERS, vals)
    if img:
        md += [f"![concurrent p99]({img})", ""]
    return md, headline


# ---------------------------------------------------------------------------------------------
# 3. Loss

def run_loss(quick, budget, big, small, runs_wanted):
    """Each server at its best setting for blksize 1428 (windowsize 64, tftpd-hpa 1), at 0, 1 and
    5% loss injected by the client (seed = round number, the same for every server within a
    round). ringtftpd gets the big file every run; the peers get the big file lossless and, when
    lossy, the small file, capped, for fewer runs (they recover from a loss by timeouts of a
    second or more and would need many minutes per 100 MiB)."""
    servers = {k: Server(k).start() for k in SERVERS}
    losses = [0, 1, 5]
    res = {}  # (loss, server) -> list of (seconds or None, bytes, cap, rc)
    local = os.path.join(OUT, "lossy")
    cap_small = 20 if quick else 45

    def one_round(r):
        for loss in losses:
            for s in SERVERS:
                fname, fsize = big if (s == "ringtftpd" or loss == 0) else small
                if s != "ringtftpd" and loss > 0 and len(res.get((loss, s), [])) >= (
                        1 if loss == 5 or s == "tftpd-hpa" else 2):
                    continue  # enough runs of a slow peer: a bound is all they give at this cost
                w = 64 if WINDOWED[s] else 1
                srv = servers[s]
                argv = client_argv("ringtftp", srv.host(), fname, local, 1428, w)
                if loss:
                    argv += ["--loss", f"{loss / 100}", "--seed", str(r + 1), "--dally", "0"]
                cap = 300 if fname == big[0] else cap_small
                rc, wall, _, out, err = run_client(argv, cap)
                ok = rc == 0 and same_file(local, os.path.join(SRV, fname))
                res.setdefault((loss, s), []).append((wall if ok else None, fsize, cap, rc))
                if not ok:
                    what = "capped at %d s" % cap if rc is None else f"exit {rc}: {err.strip()[-200:]}"
                    if rc is not None or (fname == big[0] and s == "ringtftpd"):
                        FAILURES.append(("loss", (loss, s, fname), what, " ".join(argv)))
                    log(f"loss {loss}% {s}: {what}")
                if os.path.exists(local):
                    os.remove(local)

    try:
        runs, note = rounds_loop("loss", budget, runs_wanted, 1 if quick else 3, one_round)
    finally:
        for s in servers.values():
            s.stop()
    return res, runs, note


def report_loss(res, runs, note, big, small):
    md = ["## 3. Loss", "",
          f"Loss injected by the client: `ringtftp get ... --loss P --seed ROUND --dally 0` drops "
          f"P of the datagrams it sends and, independently, of those it receives (requests, "
          f"DATA, ACKs and OACKs alike), for every server alike, on loopback. netem would drop in "
          f"the kernel, but this kernel is built without it (`CONFIG_NET_SCH_NETEM` is not set). "
          f"`--dally 0`: the client does not linger after its last ACK (with --loss it otherwise "
          f"waits 1 s for a server that missed it), so the time is the transfer's. blksize 1428 "
          f"with windowsize 64 for ringtftpd and atftpd, 1 for tftpd-hpa (its only choice). "
          f"ringtftpd downloads {human(big[1])} every run; when lossy, the peers download "
          f"{human(small[1])} (atftpd 2 runs at 1%, tftpd-hpa 1; 1 run each at 5%; capped at the time shown), "
          f"because they recover from a loss by waiting a timeout and {human(big[1])} would take "
          f"many minutes per run. A run that hit its cap gives an upper bound (size / cap). "
          f"{runs} rounds" + (f" ({note})" if note else "") + ".", "",
          "| loss each way | server | file | runs | min MB/s | median MB/s | max MB/s | % of its lossless median |",
          "|---:|---|---|---:|---:|---:|---:|---:|"]
    lossless = {}
    meds = {}
    for loss in (0, 1, 5):
        for s in SERVERS:
            v = res.get((loss, s))
            if not v:
                continue
            done = [size / MB / t for t, size, cap, rc in v if t]
            capped = [(size, cap) for t, size, cap, rc in v if t is None and rc is None]
            failed = [rc for t, size, cap, rc in v if t is None and rc is not None]
            fname = human(v[0][1])
            if done:
                lo, m, hi = summary(done)
                meds[(loss, s)] = m
                if loss == 0:
                    lossless[s] = m
                pct = f"{100 * m / lossless[s]:.0f}%" if s in lossless and loss else ("100%" if not loss else "n/a")
                extra = f" (+{len(capped)} capped)" if capped else ""
                extra += f" (+{len(failed)} failed)" if failed else ""
                md.append(f"| {loss}% | {s} | {fname} | {len(done)}{extra} | {fmt(lo)} | **{fmt(m)}** | {fmt(hi)} | {pct} |")
            elif capped:
                size, cap = capped[0]
                bound = size / MB / cap
                meds[(loss, s)] = bound
                pct = f"< {100 * bound / lossless[s]:.1f}%" if s in lossless else "n/a"
                md.append(f"| {loss}% | {s} | {fname} | 0 of {len(v)}: none finished within {cap} s | | "
                          f"**< {fmt(bound)}** | | {pct} |")
            else:
                md.append(f"| {loss}% | {s} | {fname} | 0 of {len(v)}: FAILED (exit {failed[0]}) | | | | |")
    md += [""]
    groups = ["0%", "1%", "5%"]
    vals = {}
    for (loss, s), v in res.items():
        done = [size / MB / t for t, size, cap, rc in v if t]
        if done:
            vals[(f"{loss}%", s)] = summary(done)
    img = plot_groups("tftp-loss", "blksize 1428, loss injected by the client (each way); bars: median", "MB/s",
                      groups, SERVERS, vals, logscale=True)
    if img:
        md += [f"![loss]({img})", ""]
    return md, meds, lossless


# What bounds the numbers above, from profiling outside the timed runs (perf, strace -c, CPU
# times). Re-check when the server or the client changes.
TFTP_NOTES = [
    "## What bounds these numbers (profiling outside the timed runs)", "",
    "Measured while writing this runner (2026-11-21 09:30-10:30 UTC, commit dba27e6 plus the TFTP "
    "work then uncommitted, the machine loaded by other builds: load average 10-50). Counts of "
    "system calls and CPU seconds, which load disturbs little; not wall times.", "",
    "- **One download is bound by the client's receive path, not the server.** One 100 MiB "
    "download at blksize 1428 / windowsize 64 (`strace -c -f` on each side): ringtftpd made "
    "10 310 `io_uring_enter` calls for ~73 400 DATA and ~1 150 ACKs (about 7 DATA per call) and "
    "used 0.8 s of CPU; atftpd made one `sendto`, one `pselect6` and one `lseek` per block "
    "(73 500 each) and used 3.3 s (under strace). The client, `ringtftp get`, made 201 466 "
    "`io_uring_enter` calls for the same download, 2.7 per DATA it received, and used about "
    "1.0 s: its `Channel` (src/tftp/channel.h) has one receive buffer and waits for one datagram "
    "at a time, a receive with a linked timeout each. With the same client for every server, "
    "that per-datagram cost caps what any server can show at windowsize 16-64; the \"client "
    "CPU\" column of section 1 shows how close each point came to it. Next step (client): keep "
    "several receives in flight or use a multishot receive with a provided-buffer ring, and "
    "submit the ACK with them.",
    "- **The client costs more than curl per block at windowsize 1.** 10 MiB at blksize 1428 "
    "from tftpd-hpa: `ringtftp get` 0.17 s of CPU (22 034 `io_uring_enter`, 3 per block), curl "
    "0.09 s. The curl rows of section 1 are the cross-check with a second client.",
    "- **10 000 transfers on one loopback host run out of ephemeral ports.** Client sockets and "
    "server transfer sockets share 32768-60999, and Linux refuses `bind(port 0)` with "
    "EADDRINUSE once about half of it is in use. Without `-R`, a 10 000-client run (09:57 UTC) "
    "had ringtftpd log 1 877 \"no socket for a transfer ...: Address already in use\" and refuse "
    "those requests. A real boot server's clients are other machines, so the benchmark gives "
    "ringtftpd and tftpd-hpa `-R 12000:31999`; atftpd has no such option (its transfers compete "
    "with the client's 10 000 sockets).",
    "- **Descriptors.** In the build profiled at 09:57 ringtftpd held a socket and the open file "
    "for each transfer (6 657 active transfers = 13 329 descriptors), which would not have let "
    "10 000 transfers fit this container's RLIMIT_NOFILE hard limit of 20 000 (root cannot raise "
    "it here). The build measured in this report holds one per transfer (10 000 active transfers "
    "= 10 016 descriptors in section 2), so 10 000 fit. `raise_fd_limit()` "
    "(src/tools/ringtftpd/main.cc) still warns only below max_sessions + 64, which is right only "
    "as long as that stays so. atftpd holds a socket and a FILE per transfer (peak fds column).",
    "- **atftpd 0.8 mostly does not survive 1 000 concurrent downloads here.** In every "
    "windowsize-1 run at 1 000 and 10 000 clients and in 4 of the 5 windowsize-16 runs, its "
    "thread count stayed at 238-474 transfers although `--maxthread` allowed N + 100, most "
    "clients timed out (\"the server stopped answering\" or \"no answer to the request\"), and "
    "its process was gone when the run ended (no /proc status, hence no VmHWM); one windowsize-"
    "16 run completed all 1 000 (76.6 MB/s). It completes 100 and 300 concurrent downloads "
    "(`--quick`). Why it stops was not investigated (it is not ours); at 1 000 and 10 000 clients "
    "the best peer is therefore tftpd-hpa.",
    "- **tftpd-hpa at 10 000 clients** verified 3 273 downloads; the other clients got no answer "
    "to their request and gave up after their retries. Its one listening process forks a child "
    "per request; with 10 000 requests at once its socket overflowed (57 523 UDP receive-buffer "
    "drops in that run) while the children it had forked took the CPUs. Its throughput there "
    "counts verified bytes only. Its memory at that point: ~490 MiB PSS summed over ~3 300 "
    "processes, 866 MiB charged to its cgroup (page tables and kernel stacks of a process per "
    "transfer).",
    "- **The retransmission floor is below the scheduling delay of a loaded 2-vCPU machine.** "
    "`RetransmitPolicy::min` is 20 ms on both ends (src/tftp/retransmit.h). A lossless 1 000-"
    "client run at load ~15 (perf recording the server) took 74 s with 14 534 client timeouts and 8 785 server "
    "retransmissions, while server and client together used 19 of the 148 CPU-seconds the two "
    "vCPUs had: the processes were waiting for a CPU, their timers fired, and the spurious "
    "resends added work. Under contention a fixed set of 2 worker threads also gets less CPU "
    "than a forking server's one process per transfer, so loaded runs favour tftpd-hpa. The "
    "\"client retransmits / timeouts\" and \"CPU busy\" columns of section 2 show whether a run "
    "was in that regime.",
    "- **At 5% loss a 64-block window rarely survives.** The chance that 64 blocks and their ACK "
    "all get through at 5% each way is about 0.95^65 = 3.6%, and RFC 7440 resends from the first "
    "missing block, so most windows are partly sent twice: 32 MiB at 5% made the client see "
    "~57 000 duplicate DATA for ~23 500 blocks. A smaller window under loss (the client asking "
    "for 8-16 on a lossy link) trades peak speed for far fewer resends. tftpd-hpa and atftpd "
    "recover mainly by timeouts (1 s in tftpd-hpa), hence their bounds in section 3.",
    ""]

# ---------------------------------------------------------------------------------------------
# Plots

def plot_groups(name, title, ylabel, groups, series, vals, logscale=False):
    """Clustered bars: one cluster per group, one bar per series at the median, whiskers min-max.
    vals: (group, series) -> (min, median, max); missing values leave a gap."""
    if not shutil.which("gnuplot") or not vals:
        return None
    os.makedirs(IMG, exist_ok=True)
    dat = os.path.join(BUILD, f"{name}.dat")
    with open(dat, "w") as f:
        for g in groups:
            row = [f'"{g}"']
            for s in series:
                v = vals.get((g, s))
                ok = v and all(x == x and x is not None and (x > 0 or not logscale) for x in v)
                row += [f"{v[1]} {v[0]} {v[2]}" if ok else "? ? ?"]
            f.write(" ".join(row) + "\n")
    png = os.path.join(IMG, f"{name}.png")
    width = max(800, 28 * len(groups) * len(series) + 250)
    plots = ", ".join(
        f'"{dat}" using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}{":xtic(1)" if i == 0 else ""} '
        f'title "{s}" lc rgb "#{COLORS[s]:06x}"' for i, s in enumerate(series))
    script = f"""
set terminal pngcairo noenhanced size {width},520 font ",10"
set output "{png}"
set title "{title}"
set ylabel "{ylabel}"
set datafile missing "?"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set xtics rotate by -45 left
set grid ytics
set key top left
set bmargin 7
{"set logscale y" if logscale else "set yrange [0:*]"}
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    return os.path.relpath(png, os.path.dirname(IMG))


# ---------------------------------------------------------------------------------------------

def make_files(quick):
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(SRV)
    os.makedirs(OUT)
    os.chmod(WORK, 0o755)
    os.chmod(SRV, 0o755)
    big = 8 << 20 if quick else 100 << 20
    small = 2 << 20 if quick else 4 << 20
    files = {"probe": 1, "file-big": big, "file-small": small, "file-1M": 1 << 20}
    rnd = random.Random(20261121)
    for name, size in files.items():
        with open(os.path.join(SRV, name), "wb") as f:
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(rnd.randbytes(n))
                left -= n
        os.chmod(os.path.join(SRV, name), 0o644)  # the servers serve world-readable files only
    with open(os.path.join(WORK, "ringtftpd.toml"), "w") as f:
        f.write(RING_CONFIG)
    return files


def xxh3_of(path):
    """The XXH3-64 ringtftp bench expects, learned by one bench download from a throw-away
    ringtftpd (the standard library has no XXH3)."""
    srv = Server("ringtftpd").start()
    try:
        p = subprocess.run([CLIENT, "bench", srv.host(), os.path.basename(path), "--clients", "1", "--json", "-q"],
                           capture_output=True, text=True, check=True)
        return json.loads(p.stdout)["expect_xxh3"]
    finally:
        srv.stop()


def tool_version(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    return ((p.stdout + p.stderr).strip().splitlines() or ["?"])[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small files, few clients, one run each (smoke test)")
    ap.add_argument("--budget-min", type=float, default=28.0,
                    help="time budget of a full run in minutes; rounds beyond the minimum are "
                         "dropped when they would not fit (default 28)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--keep-data", action="store_true", help="keep the workload files")
    ap.add_argument("--out", default=os.path.join(DOCS, "benchmarks-tftp.md"),
                    help="the report; its plots go to img/ beside it (default docs/benchmarks-tftp.md)")
    ap.add_argument("--only", default="single,concurrent,loss", help="comma-separated subset")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: write the report again from the last run's results "
                         "(build-bench-tftp/tftp-results.pickle)")
    a = ap.parse_args()
    global IMG
    IMG = os.path.join(os.path.dirname(os.path.abspath(a.out)), "img")
    only = set(a.only.split(","))
    if a.report_only:
        with open(os.path.join(BUILD, "tftp-results.pickle"), "rb") as f:
            render(pickle.load(f), a.out)
        return
    if os.geteuid() != 0:
        sys.exit("run as root: cgroups, /proc of the servers, RLIMIT_NOFILE")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by servers and clients
    for peer in (HPA, ATFTPD):
        if not os.access(peer, os.X_OK):
            sys.exit(f"{peer} is missing (scripts/setup.sh installs the peers)")

    if not a.skip_build:
        log("building ringtftpd and ringtftp in Release into build-bench-tftp/")
        sh(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release", "-DRINGKIT_BUILD_TESTS=OFF",
            "-DRINGKIT_BUILD_BENCH=OFF"], stdout=subprocess.DEVNULL)
        b = subprocess.run(["cmake", "--build", BUILD, "-j2", "--target", "ringtftpd", "ringtftp"],
                           capture_output=True, text=True)
        with open(os.path.join(BUILD, "build.log"), "w") as f:
            f.write(b.stdout + b.stderr)
        if b.returncode != 0:
            sys.exit(b.stdout[-3000:] + b.stderr[-3000:] + "\nbuild failed (build-bench-tftp/build.log)")
    source = git_state()  # after the build: what the binaries were built from
    files = make_files(a.quick)
    raw = os.path.join(BUILD, "tftp-concurrent-runs.jsonl")
    if os.path.exists(raw):
        os.remove(raw)
    conc_plan = [(100, 1, 1), (300, 1, 1), (100, 16, 1)] if a.quick else [(1000, 1, 5), (10000, 1, 3), (1000, 16, 5)]
    budget = Budget(a.budget_min * 60 - (time.monotonic() - T0),
                    [("single", 0.40), ("conc0", 0.10), ("conc1", 0.25), ("conc2", 0.05), ("loss", 0.20)])
    sampler = LoadSampler()
    sampler.start()
    R = {"quick": a.quick, "source": source, "started": datetime.datetime.now(datetime.timezone.utc),
         "files": files}
    try:
        xxh3 = xxh3_of(os.path.join(SRV, "file-1M"))
        if "single" in only:
            log("1. one large download")
            R["single"] = run_single(a.quick, budget, "file-big", files["file-big"])
        if "concurrent" in only:
            R["concurrent"] = []
            for i, (clients, w, runs_wanted) in enumerate(conc_plan):
                log(f"2. {clients} concurrent downloads, windowsize {w}")
                servers = SERVERS if w == 1 else [s for s in SERVERS if WINDOWED[s]]
                res, runs, note = run_concurrent(a.quick, budget, f"conc{i}", clients, w, "file-1M", 1 << 20,
                                                 xxh3, runs_wanted, 1 if a.quick else (1 if clients > 5000 else 3),
                                                 servers)
                R["concurrent"].append((clients, w, res, runs, note))
        if "loss" in only:
            log("3. loss")
            R["loss"] = run_loss(a.quick, budget, ("file-big", files["file-big"]),
                                 ("file-small", files["file-small"]), 1 if a.quick else 5)
    finally:
        sampler.stop()
        if not a.keep_data:
            shutil.rmtree(WORK, ignore_errors=True)
    R["elapsed"] = time.monotonic() - T0
    R["loads"] = sampler.samples or [0.0]
    R["failures"] = FAILURES
    R["fd_limit"] = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with open(os.path.join(BUILD, "tftp-results.pickle"), "wb") as f:  # --report-only renders it again
        pickle.dump(R, f)
    render(R, a.out)


def render(R, out):
    """Writes the report from the results of a run (R, as saved in tftp-results.pickle)."""
    FAILURES[:] = R["failures"]
    files = R["files"]
    sections, summary_lines, targets = [], [], []
    single_med = conc_head = loss_med = lossless = None
    if "single" in R:
        res, runs, note, capped = R["single"]
        md, single_med = report_single(res, runs, note, files["file-big"], capped)
        sections += md
    if "concurrent" in R:
        md, conc_head = report_concurrent(R["concurrent"], 1 << 20)
        sections += md
    if "loss" in R:
        res, runs, note = R["loss"]
        md, loss_med, lossless = report_loss(res, runs, note, ("file-big", files["file-big"]),
                                             ("file-small", files["file-small"]))
        sections += md
    elapsed, loads, started, quick = R["elapsed"], R["loads"], R["started"], R["quick"]

    # Targets
    if single_med:
        r = single_med.get((1428, 64, "ringtftpd", "ringtftp"))
        at = single_med.get((1428, 64, "atftpd", "ringtftp"))
        if r and at:
            met = r >= 2 * at
            cr = CPU_SINGLE.get((1428, 64, "ringtftpd", "ringtftp"))
            ca = CPU_SINGLE.get((1428, 64, "atftpd", "ringtftp"))
            bound = ""
            if cr and ca:
                bound = (f"per download (medians): ringtftpd wall {cr[0]:.2f} s, server CPU {cr[1]:.2f} s, "
                         f"client CPU {cr[2]:.2f} s; atftpd wall {ca[0]:.2f} s, server CPU {ca[1]:.2f} s, "
                         f"client CPU {ca[2]:.2f} s. The client's CPU alone allows at most "
                         f"{files['file-big'] / MB / cr[2]:.0f} MB/s = {files['file-big'] / MB / cr[2] / at:.2f}x atftpd")
            targets.append(("(1) blksize 1428 / windowsize 64: ≥ 2x atftpd, same client",
                            f"ringtftpd {fmt(r)} MB/s, atftpd {fmt(at)} MB/s: **{r / at:.2f}x**",
                            "met" if met else "**missed**", bound))
        summary_lines.append("- One download: " + "; ".join(
            f"{b}/{w}: ringtftpd {fmt(single_med.get((b, w, 'ringtftpd', 'ringtftp')))}, atftpd "
            f"{fmt(single_med.get((b, w, 'atftpd', 'ringtftp')))}"
            + (f", tftpd-hpa {fmt(single_med.get((b, w, 'tftpd-hpa', 'ringtftp')))}" if w == 1 else "")
            for b, w in [(512, 1), (1428, 1), (1428, 64), (65464, 64)]) + " MB/s (medians).")
    if conc_head:
        big_n = max(c for c, w, s in conc_head)
        ring = conc_head.get((big_n, 1, "ringtftpd"))
        peers = {s: v for (c, w, s), v in conc_head.items() if c == big_n and w == 1 and s != "ringtftpd"}
        if ring:
            best_peer = max(peers.items(), key=lambda kv: kv[1]["mbps"] if kv[1]["mbps"] == kv[1]["mbps"] else 0,
                            default=(None, None))
            fds = med_of(ring["rows"], "fds")[1]
            targets.append((f"(2a) every one of {big_n} concurrent transfers completes",
                            f"{100 * ring['rate']:.2f}% verified (worst run)",
                            "met" if ring["rate"] == 1.0 else "**missed**",
                            "" if ring["rate"] == 1.0 else
                            f"ringtftpd peaked at {fmt(fds)} open descriptors (a socket and the file for "
                            f"each transfer) against RLIMIT_NOFILE {R['fd_limit']}; see Failed runs"))
            if best_peer[0]:
                bp = best_peer[1]["mbps"]
                ratio = ring["mbps"] / bp if bp else NAN
                pv = best_peer[1]
                ceiling = (pv["cpu"] + pv["client_cpu"]) / ring["client_cpu"] if ring["client_cpu"] else NAN
                targets.append((f"(2b) {big_n} clients: aggregate ≥ 2x the best peer",
                                f"ringtftpd {fmt(ring['mbps'])} MB/s, best peer {best_peer[0]} {fmt(bp)} MB/s: **{ratio:.2f}x**",
                                "met" if ratio >= 2 else "**missed**",
                                f"CPU s per run (medians): ringtftpd {fmt(ring['cpu'])} + client {fmt(ring['client_cpu'])} "
                                f"in {fmt(ring['wall'])} s (CPU busy {100 * ring['busy']:.0f}%); {best_peer[0]} "
                                f"{fmt(pv['cpu'])} + client {fmt(pv['client_cpu'])} in {fmt(pv['wall'])} s "
                                f"(busy {100 * pv['busy']:.0f}%). If both were CPU-bound, even a server costing "
                                f"nothing would reach {ceiling:.2f}x ({best_peer[0]}'s total CPU over the client's "
                                f"CPU with ringtftpd)"))
            targets.append((f"(2c) {big_n} clients: server memory ≤ 64 KiB per active transfer",
                            f"{fmt(ring['per'])} KiB per transfer (VmHWM {ring['peak']:.1f} MiB); "
                            f"cgroup {fmt(ring['cg_per'])} KiB",
                            "met" if ring["per"] <= 64 else "**missed**", ""))
        for (c, w, s), v in sorted(conc_head.items()):
            if s == "ringtftpd":
                summary_lines.append(
                    f"- {c} clients ws{w}: ringtftpd {fmt(v['mbps'])} MB/s, " + ", ".join(
                        f"{p} {fmt(conc_head[(c, w, p)]['mbps'])}" for p in SERVERS[1:] if (c, w, p) in conc_head)
                    + f" MB/s; ringtftpd peak {v['peak']:.1f} MiB, {fmt(v['per'])} KiB per transfer, "
                      f"{fmt(v['cpu'])} CPU s, p99 {fmt(v['p99'])} s.")
    if loss_med and lossless:
        r0 = lossless.get("ringtftpd")
        r1 = loss_med.get((1, "ringtftpd"))
        r5 = loss_med.get((5, "ringtftpd"))
        if r0 and r1:
            targets.append(("(3) 1% loss: ≥ 50% of lossless throughput",
                            f"ringtftpd {fmt(r1)} of {fmt(r0)} MB/s: **{100 * r1 / r0:.0f}%**"
                            + (f" (5%: {fmt(r5)} MB/s, {100 * r5 / r0:.0f}%)" if r5 else ""),
                            "met" if r1 >= 0.5 * r0 else "**missed**",
                            "" if r1 >= 0.5 * r0 else
                            "windowsize 64 with go-back-N resends (RFC 7440): at 1% each way a window of 64 "
                            "DATA and its ACK all arrive only 0.99^65 = 52% of the time, and each loss resends "
                            "the rest of the window, or waits a timeout (floor 20 ms) when the window's tail "
                            "or its ACK is lost; see the notes at the end (arithmetic, not profiled)"))

    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / (1 << 20)
    head = ["# TFTP benchmarks: ringtftpd, tftpd-hpa, atftpd", "",
            "Written by `bench/run_tftp.py`" + (" **--quick (smoke test: small files, few clients, "
                                                 "1 run; not for decisions)**" if quick else "") + ". "
            "Other benchmarks: [benchmarks.md](benchmarks.md).", ""]
    if max(loads) > 1.5 or statistics.median(loads) > 1.0:
        head += [f"> **Noisy run.** The 1-minute load average during this run was min {min(loads):.2f}, "
                 f"median {statistics.median(loads):.2f}, max {max(loads):.2f} (sampled every 5 s) on "
                 f"{os.cpu_count()} vCPUs. The benchmark itself (server + client) keeps about 2 "
                 f"runnable, so anything well above 2 is other work sharing the CPUs: absolute numbers "
                 f"are pessimistic, and a forking server (one process per transfer) gains CPU share "
                 f"over a fixed number of threads under contention. tftpd-hpa's process per transfer "
                 f"also counts in the load average itself: the highest samples fall in its 1 000- and "
                 f"10 000-client runs. Re-run on a quiet machine before relying on a close call.", ""]
    head += ["| machine | |", "|---|---|",
             f"| date (UTC) | {started:%Y-%m-%d %H:%M} |",
             f"| CPU | {os.cpu_count()} × {model} |",
             f"| memory | {mem_gib:.1f} GiB |",
             f"| kernel | {platform.release()} |",
             f"| network | loopback; loss (section 3) injected by the client |",
             f"| files | {WORK} (tmpfs), written by the client to tmpfs |",
             f"| load average (1 min) during the run | min {min(loads):.2f}, median "
             f"{statistics.median(loads):.2f}, max {max(loads):.2f} |",
             f"| run time | {elapsed / 60:.1f} min ({'quick' if quick else 'full'} mode) |",
             f"| source | {R['source']} |",
             f"| build | Release (-O3), g++ "
             f"{subprocess.run(['g++', '-dumpfullversion'], capture_output=True, text=True).stdout.strip()}; "
             f"ringtftpd defaults (2 workers = one per CPU, io_uring) except the limits and logging noted in section 2 |",
             f"| peers | {tool_version([HPA, '-V'])} (`in.tftpd -L -a ADDR -u root -s DIR`); "
             f"{tool_version([ATFTPD, '-V'])} (`--daemon --no-fork --user root.root --logfile /dev/null "
             f"--maxthread N`); client {tool_version(['curl', '--version'])[:11]} for the curl rows |",
             f"| RLIMIT_NOFILE | {R['fd_limit']} (the hard limit; not raisable here) for servers and clients |",
             "",
             "Each point is repeated, rounds interleaving servers and points so that background load "
             "spreads over all of them, and reported as min / median / max; ratios compare medians. "
             "Re-run: `bench/run_tftp.py` (full, about 30 minutes) or `bench/run_tftp.py --quick`. "
             "Every run of every `ringtftp bench` is kept in build-bench-tftp/tftp-concurrent-runs.jsonl.",
             ""]
    if targets:
        head += ["## Targets", "", "| target | measured (medians) | | what bounds it |", "|---|---|---|---|"]
        head += [f"| {t} | {m} | {v} | {b} |" for t, m, v, b in targets] + [""]
    if summary_lines:
        head += ["## Summary", ""] + summary_lines + [""]
    if FAILURES:
        head += ["## Failed runs", "", "| section | point | what happened | command |", "|---|---|---|---|"]
        head += [f"| {s} | {p} | {w} | `{c}` |" for s, p, w, c in FAILURES[:30]] + [""]
    notes = [] if quick else TFTP_NOTES
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(head + sections + notes) + "\n")
    log(f"wrote {out} ({elapsed / 60:.1f} min, load average max {max(loads):.2f})")


if __name__ == "__main__":
    main()
