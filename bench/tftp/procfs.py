"""What /proc says about the servers: children, CPU time, memory, and UDP drops."""

import os

from .config import PAGE_KIB, TICK


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
