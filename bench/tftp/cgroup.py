"""cgroup v1 cpuacct and memory groups, one pair per server, so that its CPU time and peak memory
include every process it forks."""

import os
import signal
import time

from .config import CG_CPU, CG_MEM, CG_PREFIX
from .procfs import read_proc, read_proc_file


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
