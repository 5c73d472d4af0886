"""The TFTP benchmark's command line (bench/run_tftp.py is the executable wrapper)."""

import argparse
import datetime
import json
import os
import pickle
import random
import resource
import shutil
import subprocess
import sys
import time

from common import proc
from common.load import LoadSampler
from common.vm import PageReportingOff
from common.proc import T0, log
from . import config as cfg
from .concurrent import run_concurrent
from .config import ATFTPD, BUILD, CLIENT, DOCS, HPA, OUT, ROOT, SERVERS, SRV, WINDOWED, WORK
from .loss import run_loss
from .report import render
from .rounds import FAILURES, Budget
from .servers import RING_CONFIG, Server
from .single import run_single


def git_state():
    """The commit measured, and whether the TFTP code had uncommitted changes at the time."""
    rev = proc.head_rev(ROOT)
    dirty = [l[3:] for l in proc.dirty_sources(ROOT).split("\n") if l.strip()]
    if not dirty:
        return f"commit {rev}"
    return f"commit {rev} + uncommitted changes in {', '.join(dirty[:6])}{' ...' if len(dirty) > 6 else ''}"


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


def main(description):
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    cfg.IMG = os.path.join(os.path.dirname(os.path.abspath(a.out)), "img")
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
        proc.cmake_release(ROOT, BUILD, ["ringtftpd", "ringtftp"], os.path.join(BUILD, "build.log"),
                           "build-bench-tftp/build.log")
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
    reporting = PageReportingOff().start()
    R = {"quick": a.quick, "source": source, "started": datetime.datetime.now(datetime.timezone.utc),
         "files": files, "page_reporting": reporting.state}
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
        reporting.stop()
        if not a.keep_data:
            shutil.rmtree(WORK, ignore_errors=True)
    R["elapsed"] = time.monotonic() - T0
    R["loads"] = sampler.samples or [0.0]
    R["failures"] = FAILURES
    R["fd_limit"] = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with open(os.path.join(BUILD, "tftp-results.pickle"), "wb") as f:  # --report-only renders it again
        pickle.dump(R, f)
    render(R, a.out)
