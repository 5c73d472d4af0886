"""Running a client with a time cap, its CPU time, and comparing a download with its source."""

import os
import resource
import signal
import subprocess
import threading
import time

from .config import CLIENT


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


def client_argv(client, host, remote, local, blksize, windowsize):
    if client == "curl":
        return ["curl", "-sS", "--tftp-blksize", str(blksize), "-o", local, f"tftp://{host}/{remote}"]
    argv = [CLIENT, "get", host, remote, local, "-q", "--blksize", str(blksize)]
    if windowsize > 1:
        argv += ["--windowsize", str(windowsize)]
    return argv
