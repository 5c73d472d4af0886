"""Section 7: memory per directory entry. ringsync and rsync walk one directory at a time
(rsync's incremental recursion), so their memory follows the widest directory; this measures what
each holds per entry of one directory of 100 000 empty files, as the difference of the peak RSS
from a directory of 1 000 (which holds the fixed costs: code, buffers, the engine), divided by
the 99 000 entries between them. First copy and no-op re-sync, tmpfs only (the file system's
speed does not enter a memory figure)."""

import os
import statistics

from common.proc import log
from . import config as cfg
from .commands import command, timed
from .disk import rm_rf
from .plan import RS_DEFAULT
from .results import FAILURES, NOTES, RESULTS, fail, record, save_partial
from .workload import VerifyError, verify, walk

METHODS = ["rsync -a", RS_DEFAULT]
CASES = ("initial", "noop")
NAME_LEN = 20  # bytes, as "file-000123-name.txt": past std::string's 15 inline bytes, like most real names


def make_wide_dir(path, count):
    """One directory of `count` empty files named as NAME_LEN says."""
    if os.path.exists(path + ".complete"):
        return
    rm_rf(path)
    os.makedirs(path)
    for i in range(count):
        os.close(os.open(os.path.join(path, f"file-{i:06d}-name.txt"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    open(path + ".complete", "w").close()


def run_wide(quick, runs, trees):
    wide, base = (10_000, 100) if quick else (100_000, 1_000)
    NOTES["wide"] = {"wide": wide, "base": base}
    root = trees["tmpfs"]
    for n in (base, wide):
        src = os.path.join(root, f"wide-src-{n}")
        log(f"wide: making one directory of {n:,} empty files in {src} (reused if present)")
        make_wide_dir(src, n)
        counts, names = walk(src)
        sample = names[:: max(1, len(names) // 200)]
        dst = os.path.join(root, "wide-dst")
        for rnd in range(runs):
            log(f"wide/{n}: round {rnd + 1}/{runs}")
            for method in METHODS[rnd % 2:] + METHODS[:rnd % 2]:
                rm_rf(dst)
                for case in CASES:  # the no-op re-syncs the copy the first run made
                    key = (f"wide-{case}", "tmpfs", "warm", method)
                    if key in FAILURES:
                        continue
                    pipeline, env = command(method, src, dst)
                    try:
                        rec = timed(pipeline, env, track_memory=True)
                        verify(src, dst, counts, sample, method)
                    except (RuntimeError, VerifyError, OSError) as e:
                        fail(key, e)
                        continue
                    record(f"wide-{n}", case, "tmpfs", "warm", method, rnd, rec)
        rm_rf(dst)
        rm_rf(src)
        os.remove(src + ".complete")
        save_partial()


def per_entry(case, method, field):
    """Bytes per entry: (median peak of the wide directory - the base one's) / the entries between."""
    sizes = NOTES.get("wide")
    if not sizes:
        return None
    med = {}
    for n in (sizes["base"], sizes["wide"]):
        v = [r[field] for r in RESULTS if (r["workload"], r["case"], r["method"]) == (f"wide-{n}", case, method)
             and r.get(field) is not None]
        if not v:
            return None
        med[n] = statistics.median(v)
    return (med[sizes["wide"]] - med[sizes["base"]]) * 1024 / (sizes["wide"] - sizes["base"]), med


def wide_section():
    """The report's section 7 (empty if it was not run)."""
    sizes = NOTES.get("wide")
    if not sizes or not any(r["workload"].startswith("wide-") for r in RESULTS):
        return []
    md = ["## 7. Memory per directory entry: one directory of "
          f"{sizes['wide']:,} empty files", "",
          f"Peak RSS copying one directory of {sizes['wide']:,} empty files (names of {NAME_LEN} bytes) "
          f"and of {sizes['base']:,}, on tmpfs; *bytes per entry* = (median peak of the first - of the "
          f"second) / {sizes['wide'] - sizes['base']:,}. *max RSS* is the largest single process "
          "(rsync's sender, receiver and generator each hold the file list: the largest is what one of "
          "them costs); *sum* adds every process's peak (rsync's 3 processes; ringsync's threads "
          "share one). The no-op re-syncs the copy the first run made.", "",
          "| method | case | max RSS MiB, 1 dir of " + f"{sizes['base']:,} | of {sizes['wide']:,} | "
          "bytes per entry (max RSS) | bytes per entry (sum of processes) |",
          "|---|---|---:|---:|---:|---:|"]
    for method in METHODS:
        for case in CASES:
            got = per_entry(case, method, "maxrss_kb")
            if got is None:
                err = FAILURES.get((f"wide-{case}", "tmpfs", "warm", method), "not run")
                md.append(f"| {method} | {case} | **FAILED**: {err[:200]} | | | |")
                continue
            per, med = got
            summed = per_entry(case, method, "memsum_kb")
            md.append(f"| {method} | {case} | {med[sizes['base']] / 1024:.1f} | {med[sizes['wide']] / 1024:.1f} | "
                      f"{per:.0f} | {f'{summed[0]:.0f}' if summed else '–'} |")
    return md + [""]
