"""Syscalls per copied file (`strace -c -f`, the io_uring submit tracepoint) and where ringsync's
time goes (`perf stat`, `perf record`), outside the timed runs."""

import os
import random
import re
import shutil
import subprocess

from common.proc import log
from .commands import command, slug, timed
from .config import BUILD
from .disk import rm_rf
from .plan import RS_DEFAULT, STRACE_METHODS
from .results import fail
from .workload import VerifyError, make_small_tree, verify, walk


def parse_strace(path):
    """{syscall: (calls, seconds)} from an `strace -c` summary."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5 or not parts[0][0].isdigit() or parts[-1] == "total":
                continue
            try:
                secs, calls = float(parts[1]), int(parts[3])
            except ValueError:
                continue
            name = parts[-1]
            c, s = out.get(name, (0, 0.0))
            out[name] = (c + calls, s + secs)
    return out


def ring_ops(method, src, dst):
    """io_uring requests submitted (the tracepoint io_uring:io_uring_submit_req), or None."""
    if not shutil.which("perf"):
        return None
    pipeline, env = command(method, src, dst)
    p = subprocess.run(["perf", "stat", "-x,", "-e", "io_uring:io_uring_submit_req", "--"]
                       + pipeline[0], env=env, capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if "io_uring_submit_req" in line:
            try:
                return int(line.split(",")[0])
            except ValueError:
                return None
    return None


def run_strace(quick, trees):
    dirs, files = (10, 20) if quick else (100, 100)
    n = dirs * files
    base = trees["tmpfs"]
    src = os.path.join(base, "strace-src")
    make_small_tree(src, dirs, files, 1024)
    counts, names = walk(src)
    sample = random.Random(4).sample(names, min(100, len(names)))
    out = {"files": n, "dirs": dirs, "methods": {}}
    for method in STRACE_METHODS:
        dst = os.path.join(base, "strace-dst")
        res = {}
        for case in ("initial", "noop"):
            if case == "initial":
                rm_rf(dst)
                if method == "tar | tar":
                    os.makedirs(dst)
            pipeline, env = command(method, src, dst)
            files_out = [os.path.join(BUILD, f"strace-{slug(method)}-{case}-{i}.txt")
                         for i in range(len(pipeline))]
            traced = [["strace", "-c", "-f", "-o", fo, "--"] + argv
                      for fo, argv in zip(files_out, pipeline)]
            try:
                timed(traced, env)
                verify(src, dst, counts, sample, method)
            except (RuntimeError, VerifyError) as e:
                fail(("strace", "tmpfs", case, method), e)
                continue
            calls = {}
            for fo in files_out:
                for k, (c, s) in parse_strace(fo).items():
                    c0, s0 = calls.get(k, (0, 0.0))
                    calls[k] = (c0 + c, s0 + s)
            res[case] = {"calls": calls}
            if method.startswith("ringsync") and "uring" in method:
                if case == "initial":
                    rm_rf(dst)
                res[case]["ring_ops"] = ring_ops(method, src, dst)
        out["methods"][method] = res
        log(f"strace: {method}: " + ", ".join(
            f"{c} {sum(v[0] for v in r['calls'].values()) / n:.1f}/file" for c, r in res.items()))
    rm_rf(os.path.join(base, "strace-dst"))
    return out


def run_profile(quick, trees):
    """perf stat and a flat perf profile of ringsync (default settings) on the small tree,
    tmpfs: initial copy and no-op. Answers: how many cores, which threads, which symbols."""
    if not shutil.which("perf"):
        return None
    dirs, files = (10, 100) if quick else (100, 1000)
    base = trees["tmpfs"]
    src = os.path.join(base, "small-src")
    make_small_tree(src, dirs, files, 1024)
    dst = os.path.join(base, "profile-dst")
    out = {}
    for case in ("initial", "noop"):
        if case == "initial":
            rm_rf(dst)
        # perf stat first (a copy), then the no-op needs a copy in place
        pipeline, env = command(RS_DEFAULT, src, dst)
        p = subprocess.run(["perf", "stat", "-x,", "-e",
                            "duration_time,task-clock,context-switches,cpu-migrations,page-faults", "--"]
                           + pipeline[0], env=env, capture_output=True, text=True)
        stat = {}
        for line in p.stderr.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].replace(".", "").isdigit():
                stat[f[2].split(":")[0]] = float(f[0])  # task-clock in msec, duration_time in ns
        if case == "initial":
            rm_rf(dst)
        data = os.path.join(BUILD, f"perf-{case}.data")
        subprocess.run(["perf", "record", "-q", "-F", "2000", "-g", "-o", data, "--"] + pipeline[0],
                       env=env, capture_output=True)
        report = lambda *args: subprocess.run(["perf", "report", "-i", data, "--stdio", "-q", "-g", "none"]
                                              + list(args), capture_output=True, text=True).stdout
        by_comm = report("--no-children", "--sort", "comm")
        by_sym = report("--no-children", "--sort", "comm,sym", "--percent-limit", "1.5")
        # Inclusive time per system call (main thread) and per io_uring opcode handler (main
        # thread when issued inline, io-wq workers when punted), and user space's self time.
        calls, user = [], 0.0
        for line in report("--children", "--sort", "comm,sym").splitlines():
            f = line.split()
            if len(f) < 5 or not f[0].endswith("%"):
                continue
            total, own, comm, kind, sym = float(f[0][:-1]), float(f[1][:-1]), f[2], f[3], " ".join(f[4:])
            thread = "io-wq" if comm.startswith("iou-wrk") else comm
            if kind == "[.]" and comm == "ringsync":
                user += own
            m = re.fullmatch(r"__(?:x64_sys|do_sys)_(\w+)", sym)
            if m and total >= 0.5:
                calls.append((total, thread, "syscall " + m.group(1)))
            m = re.fullmatch(r"io_(openat2|write|read|statx|fsync|renameat|unlinkat|mkdirat|linkat|"
                             r"symlinkat|close|splice|fallocate|fgetxattr|fsetxattr)", sym)
            if m and total >= 0.5:
                calls.append((total, thread, "ring op " + m.group(1)))
        out[case] = {"stat": stat,
                     "by_comm": [l.strip() for l in by_comm.splitlines() if l.strip()][:8],
                     "by_sym": [l.strip() for l in by_sym.splitlines() if l.strip()][:20],
                     "calls": sorted(calls, reverse=True)[:16], "user_self": user}
    rm_rf(dst)
    return out
