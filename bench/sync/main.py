"""The ringsync benchmark's command line (bench/run_sync.py is the executable wrapper)."""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import sys
import time

from common.load import LoadSampler
from common.vm import PageReportingOff
from common.proc import T0, fs_type, log
from common.report import cpu_model, mem_gib
from . import config as cfg
from .build import build, git_state, versions
from .config import BUILD, ROOT
from .disk import DiskArea, rm_rf
from .plan import Budget
from .probes import run_profile, run_strace
from .report import link_from_engine_report, write_report
from .results import FAILURES, NOTES, PARTIAL_META, RESULTS, save_raw
from .rounds import run_big, run_empty, run_small, run_usr
from .wide import run_wide


def main(description):
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny trees, one run each (smoke test)")
    ap.add_argument("--runs", type=int, default=None, help="runs per measurement (default 5; quick 1)")
    ap.add_argument("--long-runs", type=int, default=None,
                    help="runs per measurement of the big and empty workloads, whose runs take "
                         "minutes under load (default 3; quick 1)")
    ap.add_argument("--only", default="strace,small,big,usr,empty,wide,profile",
                    help="comma-separated subset of strace,small,big,usr,empty,wide,profile")
    ap.add_argument("--budget-min", type=float, default=30.0,
                    help="time budget of a full run in minutes (default 30): optional ringsync "
                         "variants are dropped, latest cells first, when the core would not fit")
    ap.add_argument("--source", choices=["head", "worktree"], default="head",
                    help="what to build: the last commit (default; exported, so that others' "
                         "uncommitted edits are not measured) or the checkout as it is")
    ap.add_argument("--tag", default="", help="suffix for the workload directories and raw "
                    "results, so that a second run can go on beside another")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--keep-data", action="store_true", help="keep the workload trees")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the report from build-bench-sync/sync-results.json")
    ap.add_argument("--out", default=cfg.REPORT, help="the report; plots go to img/ beside it")
    a = ap.parse_args()
    cfg.REPORT = os.path.abspath(a.out)
    cfg.IMG = os.path.join(os.path.dirname(cfg.REPORT), "img")
    tag = ("-quick" if a.quick else "") + a.tag  # never reuse (or delete) another run's trees
    if tag:
        cfg.TMPFS_DIR += tag
        cfg.DISK_DIR += tag
        cfg.RAW = cfg.RAW.replace(".json", tag + ".json")
        cfg.RUNS_LOG = cfg.RUNS_LOG.replace(".jsonl", tag + ".jsonl")

    if a.report_only:  # (the results of the run with the same --tag/--quick)
        with open(cfg.RAW) as f:
            raw = json.load(f)
        RESULTS.extend(raw["results"])
        FAILURES.update({tuple(k.split(" | ")): v for k, v in raw["failures"].items()})
        NOTES.update(raw["notes"])
        meta = raw["meta"]
        write_report(meta, meta.get("strace"), meta.get("profile"), cfg.REPORT)
        link_from_engine_report()
        log(f"wrote {cfg.REPORT} from {cfg.RAW}")
        return

    if os.geteuid() != 0:
        sys.exit("run as root: cold-cache runs write /proc/sys/vm/drop_caches")
    for tool in ("rsync", "cp", "tar", "strace"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/setup.sh")
    runs = a.runs or (1 if a.quick else 5)
    only = set(a.only.split(","))
    long_runs = a.long_runs or (1 if a.quick else 3)
    cfg.BUDGET = Budget(a.budget_min, runs, long_runs, unlimited=a.quick, active=only)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # run the clean-up below
    if a.skip_build:
        bdir = os.path.join(BUILD, "head") if a.source == "head" else BUILD
        cfg.RINGSYNC = os.path.join(bdir, "bin", "ringsync")
        if os.path.exists(os.path.join(bdir, "SOURCE.txt")):
            with open(os.path.join(bdir, "SOURCE.txt")) as f:
                cfg.SOURCE = f.read().strip() + " (built by an earlier run)"
    else:
        build(a.source)
    os.makedirs(BUILD, exist_ok=True)
    for p in (cfg.RUNS_LOG,):
        if os.path.exists(p):
            os.remove(p)
    trees = {"tmpfs": cfg.TMPFS_DIR, "disk": cfg.DISK_DIR}
    os.makedirs(cfg.TMPFS_DIR, exist_ok=True)
    disk = DiskArea(cfg.DISK_DIR, 4 if a.quick else 24)
    fs_types = {"tmpfs": fs_type(cfg.TMPFS_DIR), "disk": fs_type(cfg.DISK_DIR)}
    if fs_types["tmpfs"] == fs_types["disk"]:
        fs_types["disk"] += "-disk"
    sampler = LoadSampler()
    sampler.start()
    reporting = PageReportingOff().start()
    started = datetime.datetime.now(datetime.timezone.utc)
    model, mem = cpu_model(), mem_gib()
    PARTIAL_META.update({"page_reporting": reporting.state, 
        "date": f"{started:%Y-%m-%d %H:%M}", "cpu": model, "nproc": os.cpu_count(),
        "mem_gib": mem, "kernel": platform.release(), "fs_types": fs_types,
        "disk": disk.describe, "sampler": sampler, "binary": os.path.relpath(cfg.RINGSYNC, ROOT), "quick": a.quick, "runs": runs,
        "long_runs": long_runs, "budget_min": a.budget_min, "source": cfg.SOURCE or git_state(),
        "versions": versions(), "strace": None, "profile": None})
    strace = profile = None
    try:
        if "strace" in only:
            strace = PARTIAL_META["strace"] = run_strace(a.quick, trees)
        if "small" in only:
            run_small(a.quick, runs, trees)
        if "profile" in only:
            profile = PARTIAL_META["profile"] = run_profile(a.quick, trees)
        if "big" in only:
            run_big(a.quick, runs, trees)
        if "usr" in only:
            run_usr(a.quick, runs, trees)
        if "empty" in only:
            run_empty(a.quick, runs, trees)
        if "wide" in only:
            run_wide(a.quick, runs, trees)
    finally:
        sampler.stop()
        reporting.stop()
        if not a.keep_data:
            rm_rf(cfg.TMPFS_DIR)
            if disk.loop:
                disk.close()
            else:
                rm_rf(cfg.DISK_DIR)
    elapsed = time.monotonic() - T0
    model, mem = cpu_model(), mem_gib()
    meta = {"date": f"{started:%Y-%m-%d %H:%M}", "cpu": model, "nproc": os.cpu_count(),
            "mem_gib": mem, "kernel": platform.release(), "fs_types": fs_types,
            "disk": disk.describe, "loads": sampler.samples, "elapsed": elapsed,
            "quick": a.quick, "runs": runs, "long_runs": long_runs, "budget_min": a.budget_min, "source": cfg.SOURCE or git_state(), "versions": versions(),
            "binary": os.path.relpath(cfg.RINGSYNC, ROOT), "page_reporting": reporting.state,
            "strace": strace, "profile": profile}
    save_raw(meta)
    verdicts = write_report(meta, strace, profile, cfg.REPORT)
    link_from_engine_report()
    loads = sampler.samples or [0.0]
    log(f"wrote {cfg.REPORT} ({elapsed / 60:.1f} min, load average max {max(loads):.2f})")
    for tid, text, where, cache, ok, sp, factor in verdicts:
        log(f"target {tid} {text} [{fs_types[where]} {cache}]: {'met' if ok else 'MISSED'} ({sp:.2f} vs {factor})")
    if FAILURES:
        log(f"{len(FAILURES)} measurement(s) FAILED:")
        for k, v in FAILURES.items():
            log(f"  {' / '.join(k)}: {v}")
        sys.exit(1)
