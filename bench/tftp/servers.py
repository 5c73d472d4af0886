"""The servers under test (ringtftpd, atftpd, tftpd-hpa) started on loopback, and the sampler of
their memory during a run."""

import os
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.request

from .cgroup import Cgroup
from .config import ATFTPD, BIN, CLIENT, HPA, OUT, PORT_RANGE, SRV, WORK
from .procfs import children, cpu_seconds, pss_kib, rss_kib, status_kib


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
