"""Running one method: the command lines of the peers and of ringsync, and timing a pipeline
(wall and CPU time, peak memory) in its own process group."""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time

from . import config as cfg
from .config import BUILD


def slug(method):
    return re.sub(r"[^a-z0-9]+", "-", method.lower()).strip("-")



def command(method, src, dst):
    """The pipeline (list of argv) and environment that copy src's contents into dst."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGKIT_")}
    if method == "rsync -a":
        return [["rsync", "-a", src + "/", dst + "/"]], env
    if method == "cp -a":
        return [["cp", "-a", src + "/.", dst]], env
    if method == "tar | tar":
        return [["tar", "-C", src, "-cf", "-", "."], ["tar", "-C", dst, "-xf", "-"]], env
    if method.startswith("ringsync "):
        backend, cheap = method.split()[1].split("/")
        env.update(RINGKIT_BACKEND=backend, RINGKIT_CHEAP_CALLS=cheap)
        return [[cfg.RINGSYNC, "-a", src + "/", dst + "/"]], env
    raise ValueError(method)


class MemSampler:
    """Peak RSS of every process of a process group: samples VmHWM (the kernel's per-process
    high-water mark) of each member every 50 ms and keeps the last value seen per pid. The sum
    over pids is an upper bound of the tree's simultaneous peak (peaks need not coincide); a
    process that grows in its last 50 ms is under-counted, which wait4's ru_maxrss (exact, but
    only the largest single process) bounds from the other side."""

    def __init__(self, pgid, exclude=()):
        self.pgid = pgid
        self.exclude = set(exclude)  # the /usr/bin/time wrappers
        self.peaks = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _scan(self):
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in self.exclude:
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                if int(stat[stat.rindex(")") + 2:].split()[2]) != self.pgid:
                    continue
                with open(f"/proc/{name}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peaks[int(name)] = max(self.peaks.get(int(name), 0), int(line.split()[1]))
            except (OSError, ValueError):
                pass

    def _run(self):
        while not self._stop.is_set():
            self._scan()
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values()), len(self.peaks)


def timed(pipeline, env, track_memory=False):
    """Runs a pipeline in its own process group; returns wall s, CPU s (user+sys of every process
    and every process they reaped, io-wq and pool threads included), the largest process's peak
    RSS (KiB), and if asked the sampled sum of per-process peaks. Raises on failure.

    Each command runs under `/usr/bin/time -f %M`: a child's ru_maxrss starts from its parent's
    high-water mark at exec, so a process forked from this Python script would report the
    script's own size; forked from `time` it reports its own."""
    procs, errs, rss_files = [], [], []
    prev = None
    t0 = time.perf_counter()
    for i, argv in enumerate(pipeline):
        err = tempfile.TemporaryFile()
        errs.append(err)
        rss = tempfile.NamedTemporaryFile(prefix="rss-", dir=BUILD, delete=False)
        rss.close()
        rss_files.append(rss.name)
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss.name, "--"] + argv,
                             stdin=prev.stdout if prev else subprocess.DEVNULL,
                             stdout=subprocess.PIPE if i < len(pipeline) - 1 else subprocess.DEVNULL,
                             stderr=err, env=env, process_group=0 if i == 0 else procs[0].pid)
        if prev:
            prev.stdout.close()
        procs.append(p)
        prev = p
    mem = MemSampler(procs[0].pid, exclude={p.pid for p in procs}) if track_memory else None
    cpu, codes = 0.0, []
    try:
        waited = [os.wait4(p.pid, 0) for p in procs]
    except BaseException:
        os.killpg(procs[0].pid, signal.SIGKILL)  # interrupted: leave nothing running
        for p in procs:
            os.waitpid(p.pid, 0)
        raise
    for p, (_, status, ru) in zip(procs, waited):
        p.returncode = os.waitstatus_to_exitcode(status)
        codes.append(p.returncode)
        cpu += ru.ru_utime + ru.ru_stime
    wall = time.perf_counter() - t0
    memsum, nprocs = mem.stop() if mem else (None, None)
    maxrss = 0
    for name in rss_files:
        with open(name) as f:
            for line in f.read().split():
                if line.isdigit():
                    maxrss = max(maxrss, int(line))
        os.remove(name)
    if any(codes):
        msgs = []
        for argv, code, err in zip(pipeline, codes, errs):
            err.seek(0)
            text = [l for l in err.read().decode(errors="replace").strip().splitlines()
                    if not l.startswith("Command exited with non-zero status")]
            if code:
                msgs.append(f"`{' '.join(argv)}` exit {code}: " + " / ".join(text[-3:]))
        raise RuntimeError("; ".join(msgs))
    rec = {"wall": wall, "cpu": cpu, "maxrss_kb": maxrss}
    if mem:
        rec.update(memsum_kb=max(memsum, maxrss), nprocs=nprocs)
    return rec
