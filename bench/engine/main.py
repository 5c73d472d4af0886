"""The engine benchmarks' command line (bench/run_engine.py is the executable wrapper)."""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import sys
import time

from common import proc
from common.load import LoadSampler
from common.vm import PageReportingOff
from common.proc import T0, fs_type, gxx_version, log
from common.report import cpu_model, prose, write_lines
from common.stats import NAN, fmt, load_range
from . import config as cfg
from .cheap import report_cheap_calls, run_cheap_calls
from .config import BUILD, DISK_DIR, DOCS, ROOT, TMPFS_DIR
from .filecopy import report_copy, run_copy
from .statx import report_statx, run_statx

NOTES_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")


def main(description):
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one run each (smoke test)")
    ap.add_argument("--grid", choices=["wide", "default", "small"], default=None,
                    help="copy grid (default: the largest that a calibration run says fits the "
                         "time budget); wide = depths 1, 2, 4, 8, 16 at 128 KiB and 1 MiB")
    ap.add_argument("--budget-min", type=float, default=19.0,
                    help="time budget of a full run, used to choose the copy grid (default 19)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--keep-data", action="store_true", help="keep the trees and source files")
    ap.add_argument("--out", default=os.path.join(DOCS, "benchmarks.md"),
                    help="the report; its plots go to img/ beside it (default docs/benchmarks.md)")
    ap.add_argument("--only", default="cheap,statx,copy", help="comma-separated subset")
    a = ap.parse_args()
    cfg.BUDGET_S = a.budget_min * 60
    cfg.IMG = os.path.join(os.path.dirname(os.path.abspath(a.out)), "img")  # plots beside the report
    only = set(a.only.split(","))

    if os.geteuid() != 0:
        sys.exit("run as root: cold-cache runs write /proc/sys/vm/drop_caches")
    if not a.skip_build:
        log("building in Release into build-bench/")
        proc.cmake_release(ROOT, BUILD, ["cheap_calls_bench", "statx_tree", "file_copy"],
                           os.path.join(BUILD, "build.log"), "build-bench/build.log", bench=True)
    os.makedirs(TMPFS_DIR, exist_ok=True)
    os.makedirs(DISK_DIR, exist_ok=True)
    fs_types = {"tmpfs": fs_type(TMPFS_DIR), "disk": fs_type(DISK_DIR)}
    if fs_types["tmpfs"] == fs_types["disk"]:
        fs_types["disk"] += "-disk"

    raw = os.path.join(BUILD, "engine-runs.jsonl")
    if os.path.exists(raw):
        os.remove(raw)
    sampler = LoadSampler()
    sampler.start()
    reporting = PageReportingOff().start()
    started = datetime.datetime.now(datetime.timezone.utc)
    sections = []
    summary_lines = []
    try:
        if "cheap" in only:
            runs, reps = run_cheap_calls(a.quick)
            md, ratios = report_cheap_calls(runs, reps)
            sections += md + [""]
            inl = [v for (c, m), v in ratios.items() if m.startswith("inline")]
            pool = [v for (c, m), v in ratios.items() if m.startswith("pool")]
            if inl and pool:
                summary_lines.append(
                    f"- Cheap calls: inline = {statistics.median(w for w, _ in inl):.2f}x the direct "
                    f"call (wall, median over calls and backends; CPU "
                    f"{statistics.median(c for _, c in inl):.2f}x), pool = "
                    f"{statistics.median(w for w, _ in pool):.1f}x. Supports `cheap_calls=inline`.")
        if "statx" in only:
            res, n = run_statx(a.quick, fs_types)
            md, dec = report_statx(res, n, fs_types)
            sections += md
            for (where, cache), (best, med) in dec.items():
                summary_lines.append(
                    f"- statx, {fs_types[where]} {cache}: fastest {best} "
                    f"({fmt(med[best])} ns/file); inline {fmt(med.get('inline', NAN))}, direct "
                    f"{fmt(med.get('direct', NAN))} ns/file.")
        if "copy" in only:
            res, size, note = run_copy(a.quick, a.grid, fs_types)
            md, dec = report_copy(res, size, fs_types, note)
            sections += md
            for (where, cache), (best, med) in dec.items():
                summary_lines.append(
                    f"- copy, {fs_types[where]} {cache}: fastest {best} ({med[best]:.2f} GB/s); "
                    f"read/write loop {med.get('read/write 1MiB (sync)', NAN):.2f}, copy_file_range "
                    f"{med.get('copy_file_range', NAN):.2f} GB/s.")
    finally:
        sampler.stop()
        reporting.stop()
        if not a.keep_data:
            for d in (TMPFS_DIR, DISK_DIR):
                shutil.rmtree(d, ignore_errors=True)
    elapsed = time.monotonic() - T0
    loads = sampler.samples or [0.0]

    model = cpu_model()
    head = ["# Engine benchmarks", "",
            "Written by `bench/run_engine.py`" + (" **--quick (smoke test: tiny sizes, 1 run; "
                                                   "not for decisions)**" if a.quick else "") + ".",
            "",
            "ringsync (tree sync against rsync, cp and tar): [benchmarks-sync.md](benchmarks-sync.md), "
            "written by `bench/run_sync.py`.",
            "",
            "TFTP (ringtftpd against tftpd-hpa and atftpd): [benchmarks-tftp.md](benchmarks-tftp.md), "
            "written by `bench/run_tftp.py`.",
            ""]
    # The programs' headline figures, hand-copied from those reports (bench/headline.md).
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "headline.md")) as f:
        head += [f.read().rstrip("\n"), ""]
    loaded = max(loads) > 0.5
    if loaded:
        head += [f"> **Noisy run.** The 1-minute load average was above 0.5 during this run "
                 f"(min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}, "
                 f"sampled every 5 s): other builds were running on this 2-vCPU machine. Treat the "
                 f"absolute numbers as pessimistic and the ratios as indicative; re-run "
                 f"`bench/run_engine.py` on a quiet machine before relying on a close call.", ""]
    head += ["| machine | |", "|---|---|",
             f"| date (UTC) | {started:%Y-%m-%d %H:%M} |",
             f"| CPU | {os.cpu_count()} × {model} (nproc {os.cpu_count()}) |",
             f"| kernel | {platform.release()} |",
             f"| file systems | {TMPFS_DIR}: {fs_types['tmpfs']}, {DISK_DIR}: {fs_types['disk']} |",
             f"| load average (1 min) during the run | {load_range(loads)} |",
             f"| free page reporting (virtio-balloon) | {reporting.state} |",
             f"| run time | {elapsed / 60:.1f} min ({'quick' if a.quick else 'full'} mode) |",
             f"| source | {proc.git_state(ROOT)} |",
             f"| build | Release (-O3), g++ {gxx_version()} |",
             "",
             "Each measurement is repeated (rounds interleave the methods so that background load "
             "spreads over all of them) and reported as min / median / max; ratios compare medians. "
             "Re-run: `bench/run_engine.py` (full, under 20 minutes) or `bench/run_engine.py --quick`.",
             ""]
    if summary_lines:
        head += ["## Summary (medians; details and the Decision for each below)", ""] + summary_lines + [""]
    sections += prose(NOTES_MD)
    write_lines(a.out, head + sections)
    log(f"wrote {a.out} ({elapsed / 60:.1f} min, load average max {max(loads):.2f})")


if __name__ == "__main__":
    main()
